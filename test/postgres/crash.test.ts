/**
 * The database server dies mid-run (immediate shutdown: connections cut, no
 * checkpoint) and comes back: the runtime keeps working and every job ends
 * succeeded — none lost, none left running or ready.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, defineTask } from "../../mod.ts";
import { waitFor } from "../support/wait.ts";
import { skip } from "./env.ts";
import { startThrowaway, throwawaySkip } from "./server.ts";

const runs = new Map<string, number>();
const slow = defineTask("crash_slow", async (_: null, ctx) => {
  runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
});

describe("postgres server killed mid-run", { skip: skip ?? throwawaySkip() }, () => {
  test("the runtime survives a server crash and restart with no job lost or stuck", { timeout: 120_000 }, async () => {
    const server = await startThrowaway();
    const errors: string[] = [];
    try {
      const stint = await createStint({
        url: server.url,
        tasks: [slow],
        workers: [{ concurrency: 5, pollingInterval: "50ms" }],
        dispatchers: [{ pollingInterval: "100ms" }],
        processHeartbeatInterval: "300ms",
        shutdownTimeout: "2s",
        onRuntimeError: (error) => errors.push(String((error as Error)?.message ?? error)),
      });
      try {
        await stint.migrate();
        const handles = await stint.enqueueAll(Array.from({ length: 300 }, () => ({ task: slow, payload: null })));
        const supervisor = await stint.start({ mode: "async" });
        try {
          await waitFor("some jobs to finish before the crash", () => runs.size >= 40, { timeout: 20_000 });
          server.kill();
          const ranBeforeRestart = runs.size;
          await new Promise((resolve) => setTimeout(resolve, 1000));
          server.start();
          const statuses = async () => {
            const results = await Promise.all(handles.map((h) => stint.getResult(h.id)));
            return results.map((r) => r.status);
          };
          await waitFor("every job to succeed after the restart", async () => {
            try {
              return (await statuses()).every((s) => s === "succeeded");
            } catch {
              return false; // the pool may still be reconnecting
            }
          }, { timeout: 30_000, interval: 200 });
          assert.ok(ranBeforeRestart < handles.length, "the crash happened mid-run, with jobs still to do");
          assert.ok(errors.length > 0, "the runtime did notice the outage");
          for (const h of handles) assert.ok((runs.get(h.id) ?? 0) >= 1, `job ${h.id} ran`);
          const health = await stint.health({ maxAge: "5s" });
          assert.equal(health.healthy, true, health.reason ?? "");
        } finally {
          await supervisor.stop();
        }
      } finally {
        await stint.close();
      }
    } finally {
      server.destroy();
    }
  });
});
