/** Two backend aliases on one database never see each other's work (SEMANTICS 1). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, JobNotFoundError, type Stint } from "../../mod.ts";
import { type Target, targets } from "../support/targets.ts";
import { fastRuntime, queueNames, withDatabase, withStintAt } from "../support/harness.ts";
import { claim, failQueue, registerProcess } from "../support/driver.ts";
import { waitForStatus } from "../support/wait.ts";

function withTwo(target: Target, fn: (a: Stint, b: Stint) => Promise<void>, options = {}): Promise<void> {
  return withDatabase(target, (url) => withStintAt(url, options, (a) => withStintAt(url, options, (b) => fn(a, b))));
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("backends", () => {
      test("jobs, queues and results are invisible across backends", () =>
        withTwo(target, async (a, b) => {
          assert.notEqual(a.backend, b.backend);
          const ja = await a.enqueue("t", "a", { queue: "shared" });
          await a.enqueue("t", "a2", { queue: "only_a", delay: "1h" });
          const jb = await b.enqueue("t", "b", { queue: "shared" });
          assert.deepEqual(await queueNames(a), ["only_a", "shared"]);
          assert.deepEqual(await queueNames(b), ["shared"]);
          assert.equal(await a.queue("shared").size(), 1);
          assert.equal(await b.queue("shared").size(), 1);
          await assert.rejects(() => b.getResult(ja.id), JobNotFoundError);
          await assert.rejects(() => a.getResult(jb.id), JobNotFoundError);
          await assert.rejects(() => b.cancel(ja.id), JobNotFoundError);
          await assert.rejects(() => b.discardJob(ja.id), JobNotFoundError);
          await assert.rejects(() => b.enqueueAgain(ja.id), JobNotFoundError);
          assert.equal((await a.getResult(ja.id)).status, "ready");
        }));

      test("claims take only the claimer's backend's jobs", () =>
        withTwo(target, async (a, b) => {
          const ids = (await a.enqueueAll([1, 2, 3].map((n) => ({ task: "t", payload: n })))).map((h) => h.id);
          const bProcess = await registerProcess(b);
          assert.deepEqual(await claim(b, bProcess, ["*"], 10), []);
          assert.deepEqual(await claim(b, bProcess, ["default"], 10), []);
          const aProcess = await registerProcess(a);
          assert.deepEqual((await claim(a, aProcess, ["*"], 10)).map((j) => j.id), ids);
        }));

      test("a pause in one backend does not pause the other", () =>
        withTwo(target, async (a, b) => {
          await a.enqueue("t", null, { queue: "p" });
          const jb = await b.enqueue("t", null, { queue: "p" });
          await a.queue("p").pause();
          assert.equal(await a.queue("p").isPaused(), true);
          assert.equal(await b.queue("p").isPaused(), false);
          assert.deepEqual((await claim(b, await registerProcess(b), ["p"], 10)).map((j) => j.id), [jb.id]);
          assert.deepEqual(await claim(a, await registerProcess(a), ["p"], 10), []);
          await b.queue("p").resume(); // resuming an unpaused queue elsewhere does not lift a's pause
          assert.equal(await a.queue("p").isPaused(), true);
        }));

      test("clear, retryAll, discardAll and promotion stay in their backend", () =>
        withTwo(target, async (a, b) => {
          await a.enqueue("t", null, { queue: "f" });
          await b.enqueue("t", null, { queue: "f" });
          await failQueue(a, "f");
          await failQueue(b, "f");
          assert.equal(await b.retryAll(), 1);
          assert.equal(await b.queue("f").size(), 1);
          assert.equal(await a.queue("f").size(), 0, "a's failed job is still failed");
          assert.equal(await b.queue("f").clear(), 1);
          assert.equal(await b.discardAll(), 0);
          assert.equal(await a.discardAll(), 1);

          const scheduled = await a.enqueue("t", null, { runAt: new Date(Date.now() + 60_000) });
          const later = new Date(Date.now() + 120_000);
          assert.equal((await b.driver.jobPromoteDue({ backend: b.backend, limit: 100, now: later })).count, 0);
          assert.equal((await a.getResult(scheduled.id)).status, "scheduled");
          assert.equal((await a.driver.jobPromoteDue({ backend: a.backend, limit: 100, now: later })).count, 1);
          assert.equal((await a.getResult(scheduled.id)).status, "ready");
        }));

      test("a runtime runs only its own backend's jobs", () => {
        const task = defineTask("who", (p: string) => `ran ${p}`);
        return withTwo(target, async (a, b) => {
          const jb = await b.enqueue(task, "b");
          const supervisor = await a.start({ mode: "async" });
          const ja = await a.enqueue(task, "a");
          assert.equal((await waitForStatus(a, ja.id, "succeeded")).returnValue, "ran a");
          await supervisor.stop();
          const rb = await b.getResult(jb.id);
          assert.equal(rb.status, "ready");
          assert.equal(rb.attempts, 0);
        }, { tasks: [task], ...fastRuntime() });
      });
    });
  });
}
