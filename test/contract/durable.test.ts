/**
 * Durable steps and sleeps (DESIGN §10): ctx.step runs its function at most
 * once per job and returns the stored result on later runs; a throw is not
 * stored; a repeated name is a StepError and a non-JSON result a ResultError.
 * ctx.sleep and ctx.sleepUntil suspend the job as "scheduled", holding no
 * worker slot and no concurrency slot, without counting as a failed attempt,
 * and the handler reruns from the top when due. In async and worker mode, on
 * every database; the tasks are test/fixtures/tasks-steps.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { callCount, readLog } from "../fixtures/tasks-steps.ts";
import { scenarioTargets, targets } from "../support/targets.ts";
import { uniqueName, withStintAt } from "../support/harness.ts";
import { handle, modesFor, open, withSteps } from "../support/steps.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

const T = { timeout: 30_000 };
const ENDED = ["succeeded", "failed", "cancelled", "discarded"] as const;

/** How many times the handler ran (its "run" notes). */
function runs(dir: string, id: string): number {
  return readLog(dir, id).filter((e) => e.run !== undefined).length;
}

for (const target of scenarioTargets(targets)) {
  describe(target.name, { skip: target.skip }, () => {
    for (const mode of modesFor(target)) {
      describe(`ctx.step (${mode} mode)`, () => {
        test(
          "a step's function runs once per job: retries get its stored result",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("memo", { dir, failAfter: 2 });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.equal(r.attempts, 3);
              assert.equal(runs(dir, id), 3, "the handler ran three times");
              assert.equal(callCount(dir, id, "a"), 1, "step a ran once");
              assert.equal(callCount(dir, id, "b"), 1, "step b ran once");
              assert.deepEqual(
                r.returnValue,
                { a: { n: 1, attempt: 1 }, b: 1 },
                "the first run's results, returned again",
              );
              const stored = await stint.driver.stepList({ backend: stint.backend, jobId: id });
              assert.deepEqual([...stored.keys()].sort(), ["a", "b"]);
            }),
        );

        test(
          "a step that throws is not stored: the next attempt runs it again",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("memo", { dir, failB: 1 });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.equal(r.attempts, 2);
              assert.equal(callCount(dir, id, "a"), 1);
              assert.equal(callCount(dir, id, "b"), 2);
              assert.deepEqual(r.returnValue, { a: { n: 1, attempt: 1 }, b: 2 });
              assert.deepEqual(r.errors.map((e) => e.message), ["b fails on attempt 1"]);
            }),
        );

        test(
          "one name used twice in one run is a StepError (also by another kind of call)",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              for (const kind of ["twice", "step-then-sleep"]) {
                const { id } = await stint.enqueue("misuse", { dir, kind });
                const r = await waitForStatus(stint, id, [...ENDED], 10_000);
                assert.equal(r.status, "failed", kind);
                assert.equal(r.error?.name, "StepError", `${kind}: ${r.error?.message}`);
                assert.equal(r.attempts, 1);
              }
            }),
        );

        test(
          "a non-JSON result fails the attempt with a ResultError and is not stored",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("misuse", { dir, kind: "non-json" });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "failed");
              assert.equal(r.error?.name, "ResultError", String(r.error?.message));
              assert.equal(callCount(dir, id, "x"), 1);
              const stored = await stint.driver.stepList({ backend: stint.backend, jobId: id });
              assert.equal(stored.size, 0, "nothing stored");
            }),
        );
      });

      describe(`ctx.sleep (${mode} mode)`, () => {
        test(
          "a sleeping job is scheduled, its attempt not counted; it reruns from the top and the elapsed sleep returns",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const t0 = Date.now();
              const { id } = await stint.enqueue("sleeper", { dir, ms: "1500ms" });
              const asleep = await waitForStatus(stint, id, "scheduled", 10_000);
              assert.equal(asleep.attempts, 0, "the sleep is not an attempt that counts");
              assert.deepEqual(asleep.errors, []);
              assert.equal(asleep.error, null);
              assert.ok(asleep.scheduledAt.getTime() >= t0 + 1500, "scheduled for the sleep's end");
              assert.equal(runs(dir, id), 1);

              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.equal(runs(dir, id), 2, "the handler ran again from the top, once");
              assert.equal(callCount(dir, id, "before"), 1, "the step before the sleep was not run again");
              const woke = readLog(dir, id).filter((e) => e.woke !== undefined);
              assert.equal(woke.length, 1, "the elapsed sleep returned at once on the second run");
              assert.equal(r.attempts, 1);
              assert.deepEqual(r.errors, []);
            }),
        );

        test(
          "ctx.sleepUntil: a future date suspends, a past date returns at once",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const past = await stint.enqueue("sleeper", { dir, until: Date.now() - 60_000 });
              const p = await waitForStatus(stint, past.id, [...ENDED], 10_000);
              assert.equal(p.status, "succeeded", JSON.stringify(p.errors));
              assert.equal(runs(dir, past.id), 1, "a date already past does not suspend");

              const until = Date.now() + 3_600_000;
              const future = await stint.enqueue("sleeper", { dir, until });
              const f = await waitForStatus(stint, future.id, "scheduled", 10_000);
              assert.equal(f.scheduledAt.getTime(), until, "scheduled for the date given");
              assert.equal(f.attempts, 0);
            }),
        );

        test(
          "a sleeping job holds no worker slot: a worker of concurrency 1 runs other jobs meanwhile",
          T,
          () =>
            withSteps(target, { mode, concurrency: 1 }, async (stint, dir) => {
              const sleeping = await stint.enqueue("sleeper", { dir, ms: "1h" });
              await waitForStatus(stint, sleeping.id, "scheduled", 10_000);
              const others = await stint.enqueueAll(
                [1, 2, 3].map((value) => ({ task: "quick", payload: { dir, value } })),
              );
              for (const { id } of others) {
                assert.equal((await waitForStatus(stint, id, "succeeded", 10_000)).status, "succeeded");
              }
              assert.equal((await stint.getResult(sleeping.id)).status, "scheduled");
            }),
        );

        test(
          "a sleeping job holds no concurrency slot: another job of its key runs (and sleeps) meanwhile",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const key = uniqueName("k");
              const a = await stint.enqueue("sleeper_gated", { dir, ms: "1h", key });
              const b = await stint.enqueue("sleeper_gated", { dir, ms: "1h", key });
              assert.equal(b.status, "blocked");
              await waitForStatus(stint, a.id, "scheduled", 10_000);
              await waitForStatus(stint, b.id, "scheduled", 10_000);
              assert.equal(runs(dir, a.id), 1);
              assert.equal(runs(dir, b.id), 1, "b ran while a slept");
            }),
        );

        test(
          "a sleep with a bad Duration or Date is a StepError, and nothing is stored",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              for (const kind of ["sleep-bad-duration", "sleep-negative", "sleep-until-bad-date", "sleep-name-long"]) {
                const { id } = await stint.enqueue("misuse", { dir, kind });
                const r = await waitForStatus(stint, id, [...ENDED], 10_000);
                assert.equal(r.status, "failed", kind);
                assert.equal(r.error?.name, "StepError", `${kind}: ${r.error?.message}`);
                assert.equal((await stint.driver.stepList({ backend: stint.backend, jobId: id })).size, 0, kind);
              }
            }),
        );
      });
    }

    describe("ctx.sleep: the rerun", () => {
      test(
        "a job due after its sleep waits at the concurrency gate while another job holds its key",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const key = uniqueName("k");
            const a = await stint.enqueue("sleeper_gated", { dir, ms: "3s", key });
            await waitForStatus(stint, a.id, "scheduled", 10_000);
            // b takes the key's only slot and holds it at its gate.
            const b = await stint.enqueue("sleeper_gated", { dir, ms: 0, key, gate: "gb" });
            await waitFor("b to hold the slot", () => readLog(dir, b.id).some((e) => e.woke !== undefined), {
              timeout: 10_000,
            });
            assert.equal((await stint.getResult(a.id)).status, "scheduled", "a is still asleep (its sleep is 3 s)");
            await waitForStatus(stint, a.id, "blocked", 15_000);
            assert.equal(runs(dir, a.id), 1, "a did not run again past the gate");
            open(dir, "gb");
            assert.equal((await waitForStatus(stint, b.id, [...ENDED], 10_000)).status, "succeeded");
            const r = await waitForStatus(stint, a.id, [...ENDED], 10_000);
            assert.equal(r.status, "succeeded");
            assert.equal(runs(dir, a.id), 2);
          }),
      );

      test(
        "a cancel requested while the job runs is not lost when the job then sleeps: it ends cancelled",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("sleeper", { dir, ms: "1h", gateBefore: "g" });
            await waitFor("the job to start", () => runs(dir, id) === 1, { timeout: 10_000 });
            // From another instance: this runtime sees the request only when it next polls for cancels.
            await withStintAt(stint.config.url, { backend: stint.backend }, async (operator) => {
              assert.deepEqual(handle(await operator.cancel(id)), { id, status: "running" });
            });
            open(dir, "g"); // the handler goes on to its sleep, unless the runner saw the cancel first
            const r = await waitForStatus(stint, id, [...ENDED], 10_000);
            assert.equal(r.status, "cancelled");
          }),
      );

      test(
        "a job woken from its sleep passes the concurrency gate again",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const key = uniqueName("k");
            const a = await stint.enqueue("sleeper_gated", { dir, ms: "300ms", key });
            await waitForStatus(stint, a.id, "scheduled", 10_000);
            const r = await waitForStatus(stint, a.id, [...ENDED], 10_000);
            assert.equal(r.status, "succeeded");
            assert.equal(r.returnValue, "woke");
            assert.equal(runs(dir, a.id), 2);
            // The slot was given back at the end: a new job of the key is not blocked.
            const c = await stint.enqueue("sleeper_gated", { dir, ms: 0, key });
            assert.notEqual(c.status, "blocked");
            await waitFor("c to end", async () => ENDED.includes((await stint.getResult(c.id)).status as never), {
              timeout: 10_000,
            });
          }),
      );
    });
  });
}
