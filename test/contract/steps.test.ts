/**
 * Multi-step tasks (DESIGN §10): the workspace carried from step to step, one
 * attempt per step with the job back to ready in between, retries from the
 * failed step with the workspace of the last completed one, attempts per
 * step, and the concurrency slot kept across steps. In async and worker mode,
 * on every database; the tasks are test/fixtures/tasks-steps.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { JobResult, Stint } from "../../mod.ts";
import { readLog } from "../fixtures/tasks-steps.ts";
import { scenarioTargets, targetsWithEngine } from "../support/targets.ts";
import { uniqueName, withStintAt } from "../support/harness.ts";
import { handle, modesFor, open, STEPS_URL, withSteps } from "../support/steps.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

const T = { timeout: 30_000 };

interface Multi {
  workspace: { trail: string[]; [k: string]: unknown } | null;
  step: { index: number; name: string; count: number } | null;
  parentId: string | null;
}
/** getResult with the multi-step fields (DESIGN §10). */
async function result(stint: Stint, id: string): Promise<JobResult & Multi> {
  return await stint.getResult(id) as JobResult & Multi;
}

/** The step runs noted by the job: [step, attempt, trail before the step]. */
function stepRuns(dir: string, id: string): Array<[string, number, string[]]> {
  return readLog(dir, id).filter((e) => e.step).map((
    e,
  ) => [e.step as string, e.attempt as number, e.trail as string[]]);
}

/** Waits until the job is ready at step `index` (a paused queue holds it there). */
function readyAt(stint: Stint, id: string, index: number) {
  return waitFor(`job ${id} to be ready at step ${index}`, async () => {
    const r = await result(stint, id);
    return r.status === "ready" && r.step?.index === index ? r : null;
  }, { timeout: 10_000 });
}

for (const target of scenarioTargets(targetsWithEngine)) {
  describe(target.name, { skip: target.skip }, () => {
    for (const mode of modesFor(target)) {
      describe(`multi-step jobs (${mode} mode)`, () => {
        test(
          "the workspace is carried step to step, each step one attempt; the last step's value is the result",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const payload = { dir, trail: [] };
              const { id } = await stint.enqueue("steps3", payload);
              const r = await result(stint, (await waitForStatus(stint, id, ["succeeded", "failed"], 10_000)).id);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.deepEqual(r.returnValue, { trail: ["first", "second", "third"] });
              assert.deepEqual(stepRuns(dir, id), [
                ["first", 1, []],
                ["second", 1, ["first"]],
                ["third", 1, ["first", "second"]],
              ]);
              assert.deepEqual(
                r.workspace,
                { dir, trail: ["first", "second", "third"], mark: 1 },
                "the final workspace",
              );
              assert.deepEqual(r.step, { index: 2, name: "third", count: 3 }, "the step that ran last");
              assert.equal(r.parentId, null);
              assert.deepEqual(r.payload, payload, "the payload stays the initial workspace");
              assert.equal(r.attempts, 3, "every step's attempt counts in the job's attempts");
              assert.deepEqual(r.errors, []);
            }),
        );

        test(
          "after a step the job is ready again at the next step, with the workspace written (a paused queue holds it)",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const queue = uniqueName();
              const payload = { dir, trail: [], gates: { first: "g1" } };
              const { id } = await stint.enqueue("steps3", payload, { queue });
              await waitFor("step first to start", () => stepRuns(dir, id).length === 1, { timeout: 10_000 });
              const running = await result(stint, id);
              assert.equal(running.status, "running");
              assert.deepEqual(running.step, { index: 0, name: "first", count: 3 });
              assert.deepEqual(
                running.workspace,
                payload,
                "before the first step completes, the workspace is the payload",
              );

              await stint.queue(queue).pause();
              open(dir, "g1");
              const between = await readyAt(stint, id, 1);
              assert.deepEqual(between.step, { index: 1, name: "second", count: 3 });
              assert.deepEqual(between.workspace, { ...payload, trail: ["first"], mark: 1 });
              assert.equal(between.attempts, 1, "the first step's attempt (the next one's has not begun)");
              assert.deepEqual(between.errors, []);
              assert.equal(between.returnValue, null);
              assert.deepEqual(stepRuns(dir, id).map((s) => s[0]), ["first"], "nothing runs while the queue is paused");

              await stint.queue(queue).resume();
              const done = await waitForStatus(stint, id, ["succeeded", "failed"], 10_000);
              assert.equal(done.status, "succeeded");
              assert.deepEqual(stepRuns(dir, id).map((s) => s[0]), ["first", "second", "third"]);
            }),
        );

        test(
          "a failed step is retried from that step, with the workspace of the last completed step",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("steps3", { dir, trail: [], failAt: "second" });
              const r = await result(stint, (await waitForStatus(stint, id, ["succeeded", "failed"], 10_000)).id);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.deepEqual(stepRuns(dir, id), [
                ["first", 1, []],
                ["second", 1, ["first"]],
                ["second", 2, ["first"]], // not ["first", "second", "second-dirty"]: the failed step's changes are gone
                ["third", 1, ["first", "second"]],
              ]);
              assert.deepEqual(r.returnValue, { trail: ["first", "second", "third"] });
              assert.equal(r.workspace?.dirty, undefined, "the failing step's change to the workspace was not kept");
              assert.deepEqual(r.errors.map((e) => e.message), ["second fails on attempt 1"]);
            }),
        );

        test(
          "each step gets the task's 3 attempts (ctx.attempt per step); the job's attempts count them all",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              // Job-wide, the third step's third run would be the job's fifth attempt, past retry's 3.
              const ok = await stint.enqueue("steps3", { dir, trail: [], failAt: "third", failTimes: 2 });
              const r = await waitForStatus(stint, ok.id, ["succeeded", "failed"], 10_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.deepEqual(stepRuns(dir, ok.id).map(([s, a]) => `${s}/${a}`), [
                "first/1",
                "second/1",
                "third/1",
                "third/2",
                "third/3",
              ]);
              assert.equal(r.attempts, 5, "the job's attempts count every step's (1 + 1 + 3)");

              const failing = await stint.enqueue("steps3", { dir, trail: [], failAt: "second", failTimes: 3 });
              const f = await result(
                stint,
                (await waitForStatus(stint, failing.id, ["succeeded", "failed"], 10_000)).id,
              );
              assert.equal(f.status, "failed");
              assert.equal(f.attempts, 4, "1 + 3: the second step used its own 3 attempts");
              assert.deepEqual(stepRuns(dir, failing.id).map(([s, a]) => `${s}/${a}`), [
                "first/1",
                "second/1",
                "second/2",
                "second/3",
              ]);
              assert.equal(f.error?.message, "second fails on attempt 3");
              assert.deepEqual(f.step, { index: 1, name: "second", count: 3 }, "it failed at the second step");
              assert.deepEqual(f.workspace?.trail, ["first"], "with the workspace of the last completed step");
            }),
        );

        test(
          "a job keeps its concurrency slot across steps: another job of its key stays blocked between them",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const queue = uniqueName();
              const key = uniqueName("k");
              const first = await stint.enqueue("steps3_gated", { dir, trail: [], key, gates: { first: "g1" } }, {
                queue,
              });
              const second = await stint.enqueue("steps3_gated", { dir, trail: [], key }, { queue });
              assert.equal(second.status, "blocked");
              await waitFor("the first job's first step to start", () => stepRuns(dir, first.id).length === 1, {
                timeout: 10_000,
              });
              await stint.queue(queue).pause();
              open(dir, "g1");
              await readyAt(stint, first.id, 1);
              assert.equal((await stint.getResult(second.id)).status, "blocked", "the slot is still the first job's");
              assert.deepEqual(readLog(dir, second.id), []);

              await stint.queue(queue).resume();
              for (const { id } of [first, second]) {
                assert.equal((await waitForStatus(stint, id, ["succeeded", "failed"], 10_000)).status, "succeeded");
              }
              const lastOfFirst = readLog(dir, first.id).at(-1)!;
              const firstOfSecond = readLog(dir, second.id)[0];
              assert.equal(lastOfFirst.step, "third");
              assert.ok(
                (firstOfSecond.at as number) >= (lastOfFirst.at as number),
                "the second job started only after the first one's last step",
              );
            }),
        );

        test(
          "a single-handler job has no workspace, no step and no parent",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("quick", { dir, value: 7 });
              const r = await result(stint, (await waitForStatus(stint, id, "succeeded", 10_000)).id);
              assert.equal(r.returnValue, 7);
              assert.equal(r.workspace, null);
              assert.equal(r.step, null);
              assert.equal(r.parentId, null);
            }),
        );
      });
    }

    describe("large workspaces", () => {
      test(
        "a 1 MB workspace and a 1 MB durable step result are carried intact",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const size = 1_000_000;
            const { id } = await stint.enqueue("big_steps", { dir, size });
            const r = await result(stint, (await waitForStatus(stint, id, ["succeeded", "failed"], 20_000)).id);
            assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            assert.deepEqual(r.returnValue, { blob: size, big: size, intact: true });
            assert.equal((r.workspace?.blob as string).length, size);
          }),
      );
    });

    describe("multi-step jobs on more than one worker", () => {
      test(
        "the next step may run on another supervisor: one stopped after step 1, another runs steps 2 and 3",
        T,
        () =>
          withSteps(target, {}, async (stint, dir) => {
            const queue = uniqueName();
            const { id } = await stint.enqueue("steps3", { dir, trail: [], gates: { first: "g1" } }, { queue });
            const one = await stint.start({ mode: "async" });
            await waitFor("step first to start", () => stepRuns(dir, id).length === 1, { timeout: 10_000 });
            await stint.queue(queue).pause();
            open(dir, "g1");
            await readyAt(stint, id, 1);
            await one.stop();
            await withStintAt(stint.config.url, {
              backend: stint.backend,
              tasks: STEPS_URL,
              workers: [{ concurrency: 1, pollingInterval: "20ms" }],
              dispatchers: [{ pollingInterval: "20ms" }],
              shutdownTimeout: "1s",
            }, async (other) => {
              await other.start({ mode: "async" });
              await other.queue(queue).resume();
              const r = await waitForStatus(other, id, ["succeeded", "failed"], 10_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            });
            assert.deepEqual(stepRuns(dir, id).map(([s, , t]) => `${s}/${t.join(",")}`), [
              "first/",
              "second/first",
              "third/first,second",
            ]);
          }),
      );
    });

    describe("multi-step jobs enqueued by name", () => {
      test(
        "a process that does not know the task enqueues it by name; a worker that does runs every step",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            let id = "";
            await withStintAt(stint.config.url, { backend: stint.backend }, async (producer) => {
              id = (await producer.enqueue("steps3", { dir, trail: [] })).id;
            });
            const r = await result(stint, (await waitForStatus(stint, id, ["succeeded", "failed"], 10_000)).id);
            assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            assert.deepEqual(stepRuns(dir, id), [
              ["first", 1, []],
              ["second", 1, ["first"]],
              ["third", 1, ["first", "second"]],
            ]);
            assert.deepEqual(r.returnValue, { trail: ["first", "second", "third"] });
            assert.deepEqual(r.step, { index: 2, name: "third", count: 3 });
          }),
      );
    });

    describe("stint.waitFor", () => {
      test(
        "waitFor resolves once a multi-step, sleeping or waiting job has ended, not between steps or while suspended",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const steps = await stint.enqueue("steps3", { dir, trail: [], gates: { second: "g2" } });
            const sleeping = await stint.enqueue("sleeper", { dir, ms: "500ms" });
            const parent = await stint.enqueue("parent", { dir, n: 1, gate: "kids" });
            const waits = [steps, sleeping, parent].map((h) => stint.waitFor(h.id, { timeout: 20_000 }));
            await waitFor("step second to start", () => stepRuns(dir, steps.id).length === 2, { timeout: 10_000 });
            await waitForStatus(stint, parent.id, "waiting", 10_000);
            open(dir, "g2");
            open(dir, "kids");
            const [a, b, c] = await Promise.all(waits);
            assert.equal(a.status, "succeeded");
            assert.deepEqual(a.returnValue, { trail: ["first", "second", "third"] });
            assert.equal(b.status, "succeeded");
            assert.equal(c.status, "succeeded");
          }),
      );
    });

    describe("multi-step jobs and the operator", () => {
      test(
        "retryJob of a failed multi-step job resumes at the failed step with its workspace",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("steps3", { dir, trail: [], failAt: "second", failUntil: "fixed" });
            const failed = await waitForStatus(stint, id, ["succeeded", "failed"], 10_000);
            assert.equal(failed.status, "failed");
            open(dir, "fixed");
            assert.deepEqual(handle(await stint.retryJob(id)), { id, status: "ready" });
            const r = await result(stint, (await waitForStatus(stint, id, ["succeeded", "failed"], 10_000)).id);
            assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            const runs = stepRuns(dir, id);
            assert.deepEqual(runs.map(([s, , t]) => `${s}/${t.join(",")}`), [
              "first/",
              "second/first",
              "second/first",
              "second/first",
              "second/first", // the retried job: at the failed step, with step 1's workspace
              "third/first,second",
            ]);
            assert.deepEqual(runs.slice(0, 4).map(([, a]) => a), [1, 1, 2, 3]);
            assert.deepEqual(r.returnValue, { trail: ["first", "second", "third"] });
          }),
      );

      test(
        "enqueueAgain of a multi-step job starts a fresh copy at the first step with the original payload",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const payload = { dir, trail: [] };
            const { id } = await stint.enqueue("steps3", payload);
            await waitForStatus(stint, id, "succeeded", 10_000);
            const copy = await stint.enqueueAgain(id);
            assert.notEqual(copy.id, id);
            const r = await result(stint, (await waitForStatus(stint, copy.id, ["succeeded", "failed"], 10_000)).id);
            assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            assert.deepEqual(stepRuns(dir, copy.id).map(([s, , t]) => `${s}/${t.join(",")}`), [
              "first/",
              "second/first",
              "third/first,second",
            ]);
            assert.deepEqual(r.payload, payload);
          }),
      );

      test(
        "a cancel requested during a step ends the job cancelled when that step returns: the next step never starts",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("steps3", { dir, trail: [], gates: { first: "g1" }, stubborn: true });
            await waitFor("step first to start", () => stepRuns(dir, id).length === 1, { timeout: 10_000 });
            // From another instance: this runtime sees the request only when it next polls for cancels.
            await withStintAt(stint.config.url, { backend: stint.backend }, async (operator) => {
              assert.deepEqual(handle(await operator.cancel(id)), { id, status: "running" });
            });
            open(dir, "g1"); // the first step returns, unless the runner saw the cancel first
            const r = await waitForStatus(stint, id, ["succeeded", "failed", "cancelled"], 10_000);
            assert.equal(r.status, "cancelled");
            assert.deepEqual(stepRuns(dir, id).map((s) => s[0]), ["first"], "the second step did not start");
          }),
      );

      test(
        "cancel of a multi-step job between steps, and of a sleeping job, ends it cancelled",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const queue = uniqueName();
            const { id } = await stint.enqueue("steps3", { dir, trail: [], gates: { first: "g1" } }, { queue });
            await waitFor("step first to start", () => stepRuns(dir, id).length === 1, { timeout: 10_000 });
            await stint.queue(queue).pause();
            open(dir, "g1");
            await readyAt(stint, id, 1);
            assert.deepEqual(handle(await stint.cancel(id)), { id, status: "cancelled" });
            await stint.queue(queue).resume();

            const sleeping = await stint.enqueue("sleeper", { dir, ms: "1h" });
            await waitForStatus(stint, sleeping.id, "scheduled", 10_000);
            assert.deepEqual(handle(await stint.cancel(sleeping.id)), { id: sleeping.id, status: "cancelled" });

            // A later job on the same queue runs; the cancelled ones do not.
            const probe = await stint.enqueue("quick", { dir }, { queue });
            await waitForStatus(stint, probe.id, "succeeded", 10_000);
            assert.equal((await stint.getResult(id)).status, "cancelled");
            assert.deepEqual(stepRuns(dir, id).map((s) => s[0]), ["first"]);
            assert.equal((await stint.getResult(sleeping.id)).status, "cancelled");
          }),
      );
    });
  });
}
