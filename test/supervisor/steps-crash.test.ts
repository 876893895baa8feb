/**
 * A crash in the middle of a multi-step job (DESIGN §10, issue 14): a
 * supervisor child process killed with kill -9 during step 2 of 3 leaves the
 * job claimed; a second supervisor recovers it (the dead pid's claims fail
 * with retry) and the job resumes AT step 2 with the workspace step 1 wrote,
 * and a durable ctx.step that completed before the kill is not run again. On
 * every database, with the supervisors in async and in worker mode.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { callCount, readLog } from "../fixtures/tasks-steps.ts";
import { scenarioTargets, targets } from "../support/targets.ts";
import { allJobs, MODES, open, STEPS_URL, withSteps } from "../support/steps.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";
import { childEnv, exitOf, killChildren, startChild } from "./support.ts";

const T = { timeout: 90_000 };
const EXIT_MARGIN = 15_000;

after(killChildren);

function options() {
  return {
    tasks: STEPS_URL.href,
    workers: [{ isolates: 1, concurrency: 2, pollingInterval: "50ms" }],
    dispatchers: [{ pollingInterval: "100ms" }],
    processHeartbeatInterval: "500ms",
    processAliveThreshold: "2s",
    shutdownTimeout: "1s",
  };
}

for (const target of scenarioTargets(targets, "narrow")) {
  describe(target.name, { skip: target.skip }, () => {
    for (const mode of MODES) {
      test(
        `kill -9 during step 2 of 3 (${mode} mode): the job resumes at step 2 with step 1's workspace, its stored step not run again`,
        T,
        () =>
          withSteps(target, {}, async (stint, dir) => {
            const env = (extra: Record<string, string> = {}) =>
              childEnv(stint.config.url, stint.backend, options(), { STINT_TEST_MODE: mode, ...extra });
            try {
              const first = await startChild(env());
              const { id } = await stint.enqueue("crash_steps", { dir, trail: [], gates: { second: "g2" } });
              await waitFor("step 2 to reach its gate", () => readLog(dir, id).some((e) => e.step === "second"), {
                timeout: 20_000,
              });
              assert.equal(callCount(dir, id, "charge"), 1);
              const mid = await stint.getResult(id) as unknown as { status: string; step: unknown; workspace: unknown };
              assert.equal(mid.status, "running");
              assert.deepEqual(mid.step, { index: 1, name: "second", count: 3 });
              assert.deepEqual(mid.workspace, { dir, trail: ["first"], gates: { second: "g2" } });

              first.signal("SIGKILL");
              assert.deepEqual(await exitOf(first, EXIT_MARGIN), { code: null, signal: "SIGKILL" });
              assert.equal(
                (await stint.getResult(id)).status,
                "running",
                "the killed supervisor's claim is left behind",
              );

              open(dir, "g2");
              const second = await startChild(env());
              const r = await waitForStatus(stint, id, ["succeeded", "failed", "cancelled"], 30_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              const runs = readLog(dir, id).filter((e) => e.step).map((e) => [e.step, e.attempt, e.trail, e.pid]);
              assert.deepEqual(runs, [
                ["first", 1, [], first.pid],
                ["second", 1, ["first"], first.pid],
                ["second", 2, ["first"], second.pid], // at step 2 again, with step 1's workspace
                ["third", 1, ["first", "second"], second.pid],
              ]);
              assert.equal(
                callCount(dir, id, "charge"),
                1,
                "the durable step stored before the kill did not run again",
              );
              const value = r.returnValue as { trail: string[]; charged: { amount: number; pid: number }; pid: number };
              assert.deepEqual(value.trail, ["first", "second", "third"]);
              assert.deepEqual(
                value.charged,
                { amount: 42, attempt: 1, pid: first.pid },
                "the first run's stored result",
              );
              assert.equal(value.pid, second.pid);
              assert.equal(r.errors.length, 1, "the lost attempt is recorded");
              assert.match(r.errors[0].name, /^Process(Pruned|Missing|Exit)Error$/);
              second.signal("SIGTERM");
              await exitOf(second, EXIT_MARGIN);
            } finally {
              await killChildren();
            }
          }),
      );

      test(
        `kill -9 while a parent waits for children running there (${mode} mode): their recovery wakes the parent`,
        T,
        () =>
          withSteps(target, {}, async (stint, dir) => {
            const env = () => childEnv(stint.config.url, stint.backend, options(), { STINT_TEST_MODE: mode });
            try {
              const first = await startChild(env());
              const { id } = await stint.enqueue("parent", { dir, n: 2, gate: "never" });
              await waitForStatus(stint, id, "waiting", 20_000);
              const kids = (await allJobs(stint)).filter((j) => j.parentId === id).map((j) => j.id);
              assert.equal(kids.length, 2);
              await waitFor("both children to start", () => kids.every((k) => readLog(dir, k).length === 1), {
                timeout: 20_000,
              });
              first.signal("SIGKILL");
              await exitOf(first, EXIT_MARGIN);

              const second = await startChild(env());
              const r = await waitForStatus(stint, id, ["succeeded", "failed", "cancelled"], 30_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              const joined = r.returnValue as Array<{ status: string; error: string | null }>;
              assert.deepEqual(
                joined.map((j) => j.status),
                ["failed", "failed"],
                "the lost children failed (no retry)",
              );
              const ran = readLog(dir, id).filter((e) => e.run !== undefined);
              assert.deepEqual(ran.map((e) => e.pid), [first.pid, second.pid], "woken in the second supervisor");
              second.signal("SIGTERM");
              await exitOf(second, EXIT_MARGIN);
            } finally {
              await killChildren();
            }
          }),
      );
    }
  });
}
