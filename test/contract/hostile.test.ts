/**
 * Every run ends in an outcome, whatever the handler throws: values that
 * defeat every reading (a Proxy whose traps throw, an Error whose getters
 * throw, an object whose conversions throw) fail the attempt like any error.
 * Once, such a job got no outcome, was released by reconciliation and ran
 * again and again (21 runs in 10 s) without its attempts ever counting.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withStint } from "../support/harness.ts";
import { targets } from "../support/targets.ts";
import { waitForStatus } from "../support/wait.ts";
import { TASKS_URL } from "../supervisor/support.ts";

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("a handler throwing hostile values", () => {
      for (const mode of ["async", "worker"] as const) {
        test(`in ${mode} mode: fails after exactly its 3 attempts, each recorded`, async () => {
          const dir = mkdtempSync(join(tmpdir(), "stint-hostile-"));
          try {
            await withStint(target, {
              tasks: TASKS_URL,
              workers: [{ concurrency: 2, isolates: 1, pollingInterval: "20ms" }],
              dispatchers: [{ pollingInterval: "20ms" }],
              // Reconciliation (every heartbeat) is what released a job left with no outcome.
              processHeartbeatInterval: "200ms",
              shutdownTimeout: "1s",
            }, async (stint) => {
              await stint.start({ mode });
              const { id } = await stint.enqueue("hostile", { dir });
              const r = await waitForStatus(stint, id, ["failed", "succeeded", "cancelled"], 10_000);
              assert.equal(r.status, "failed");
              assert.equal(r.attempts, 3);
              assert.equal(r.errors.length, 3);
              for (const e of r.errors) {
                assert.equal(typeof e.name, "string");
                assert.equal(typeof e.message, "string");
              }
              assert.deepEqual(r.errors.map((e) => e.attempt), [1, 2, 3]);
              assert.equal(readFileSync(join(dir, `${id}.runs`), "utf8"), "1\n2\n3\n", "ran once per attempt");
            });
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        });
      }
    });
  });
}
