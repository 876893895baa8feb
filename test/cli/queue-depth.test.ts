/**
 * `stint queue-depth [QUEUE…] [--exclude-future-jobs]` against every target,
 * run as a real child process of the same runtime: it prints the depths as one
 * JSON object, every queue named present (0 included), and they match what the
 * test enqueued (ready and scheduled jobs, scheduled ones due later left out
 * with --exclude-future-jobs).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { defineTask } from "../../mod.ts";
import { uniqueName, withDatabase, withStintAt } from "../support/harness.ts";
import { targets } from "../support/targets.ts";

const cli = new URL("../../cli.ts", import.meta.url).pathname;
const isDeno = "Deno" in globalThis;
const noop = defineTask("noop", () => null);

/** Runs the CLI in a scratch directory; its exit code, stdout and stderr. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = mkdtempSync(join(tmpdir(), "stint-cli-"));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STINT_")));
  const child = spawn(process.execPath, isDeno ? ["run", "-A", cli, ...args] : [cli, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...env, NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  // Only a safety net for a hung child: nothing here asserts on time.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    })
  );
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    test(
      "cli queue-depth prints each queue's waiting jobs as JSON",
      { timeout: 120_000 },
      () =>
        withDatabase(target, (url) =>
          withStintAt(url, { tasks: [noop] }, async (stint) => {
            const [a, b, none] = [uniqueName("a"), uniqueName("b"), uniqueName("none")];
            for (let i = 0; i < 3; i++) await stint.enqueue(noop, null, { queue: a });
            await stint.enqueue(noop, null, { queue: b });
            await stint.enqueue(noop, null, { queue: b, delay: "1h" });
            await stint.enqueue(noop, null, { queue: b, delay: "2h" });
            const depth = async (...args: string[]) => {
              const result = await run(["queue-depth", "--url", url, "--backend", stint.backend, ...args]);
              assert.equal(result.code, 0, result.stderr);
              assert.equal(result.stdout.trim().split("\n").length, 1, "one line of JSON");
              return JSON.parse(result.stdout);
            };
            // By hand: 3 ready in a; 1 ready and 2 due later in b; none in the third.
            assert.deepEqual(await depth(a, b, none), { [a]: 3, [b]: 3, [none]: 0 });
            assert.deepEqual(await depth(b, none, a, "--exclude-future-jobs"), { [b]: 1, [none]: 0, [a]: 3 });
            assert.deepEqual(await depth(), { [a]: 3, [b]: 3 }, "no queue named: every queue with waiting jobs");
            assert.deepEqual(await depth(a, b), await stint.queueDepths({ queues: [a, b] }));
          })),
    );
  });
}
