/** Operator actions: retryJob, discardJob, retryAll, discardAll, enqueueAgain, cancel. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, JobNotFoundError, StintError, UndiscardableError } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { withStint } from "../support/harness.ts";
import { claim, failQueue, registerProcess, succeedQueue } from "../support/driver.ts";

function isNotFound(error: unknown): boolean {
  assert.ok(error instanceof JobNotFoundError, `expected JobNotFoundError, got ${error}`);
  return true;
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("failed jobs", () => {
      test("a failed job keeps its error; retryJob puts it back to ready", () =>
        withStint(target, {}, async (stint) => {
          const { id } = await stint.enqueue("t", { n: 1 }, { queue: "f" });
          assert.deepEqual(await failQueue(stint, "f", "it broke"), [id]);
          const failed = await stint.getResult(id);
          assert.equal(failed.status, "failed");
          assert.deepEqual(failed.error, {
            name: "TestFailure",
            message: "it broke",
            stack: "TestFailure: it broke\n    at test",
          });
          assert.equal(failed.errors.length, 1);
          assert.equal(failed.errors[0].attempt, 1);
          assert.ok(failed.errors[0].at instanceof Date);
          assert.equal(failed.attempts, 1);
          assert.ok(failed.finishedAt instanceof Date);

          assert.deepEqual(await stint.retryJob(id), { id, status: "ready", duplicate: false });
          const retried = await stint.getResult(id);
          assert.equal(retried.status, "ready");
          assert.equal(retried.finishedAt, null);
          assert.equal(retried.errors.length, 1, "the earlier attempt's error is kept");
          assert.equal(await stint.queue("f").size(), 1);
          const [again] = await claim(stint, await registerProcess(stint), ["f"], 1);
          assert.equal(again.id, id);
          assert.equal(again.attempt, 2);
        }));

      test("retryJob refuses a job that is not failed, and an unknown id", () =>
        withStint(target, {}, async (stint) => {
          const { id } = await stint.enqueue("t", null);
          await assert.rejects(() => stint.retryJob(id), (error: unknown) => {
            assert.ok(error instanceof StintError);
            assert.equal(error.code, "JOB_NOT_FAILED");
            assert.match(error.message, /is ready/);
            return true;
          });
          assert.equal((await stint.getResult(id)).status, "ready");
          await assert.rejects(() => stint.retryJob(crypto.randomUUID()), isNotFound);
          await assert.rejects(() => stint.retryJob("bogus"), isNotFound);
        }));

      test("retryAll retries every failed job matching the filter", () =>
        withStint(target, {}, async (stint) => {
          await stint.enqueue("alpha", null, { queue: "r1" });
          await stint.enqueue("beta", null, { queue: "r1" });
          await stint.enqueue("alpha", null, { queue: "r2" });
          await failQueue(stint, "r1");
          await failQueue(stint, "r2");
          const untouched = await stint.enqueue("alpha", null, { queue: "r1" });

          assert.equal(await stint.retryAll({ queue: "r1", task: "alpha" }), 1);
          assert.equal(await stint.queue("r1").size(), 2, "the retried one and the ready one");
          assert.equal(await stint.retryAll({ task: "alpha" }), 1, "the r2 one");
          assert.equal(await stint.retryAll(), 1, "the beta one");
          assert.equal(await stint.retryAll(), 0);
          assert.equal((await stint.getResult(untouched.id)).attempts, 0);
          assert.equal(await stint.queue("r1").size(), 3);
          assert.equal(await stint.queue("r2").size(), 1);
        }));

      test("retryAll and discardAll handle more failed jobs than one batch", () =>
        withStint(target, {}, async (stint) => {
          await stint.enqueueAll(
            Array.from({ length: 1100 }, (_, i) => ({ task: "t", payload: i, options: { queue: "many" } })),
          );
          assert.equal((await failQueue(stint, "many")).length, 1000);
          assert.equal((await failQueue(stint, "many")).length, 100);
          assert.equal(await stint.retryAll({ queue: "many" }), 1100);
          assert.equal(await stint.queue("many").size(), 1100);
          await failQueue(stint, "many");
          await failQueue(stint, "many");
          assert.equal(await stint.discardAll({ queue: "many" }), 1100);
          assert.equal(await stint.discardAll({ queue: "many" }), 0);
        }));

      test("discardAll discards failed jobs matching the filter and nothing else", () =>
        withStint(target, {}, async (stint) => {
          const a = await stint.enqueue("alpha", null, { queue: "d1" });
          const b = await stint.enqueue("beta", null, { queue: "d1" });
          await failQueue(stint, "d1");
          const waiting = await stint.enqueue("alpha", null, { queue: "d1" });
          assert.equal(await stint.discardAll({ task: "beta" }), 1);
          assert.equal((await stint.getResult(b.id)).status, "discarded");
          assert.equal((await stint.getResult(a.id)).status, "failed");
          assert.equal(await stint.discardAll(), 1);
          assert.equal((await stint.getResult(a.id)).status, "discarded");
          assert.equal((await stint.getResult(waiting.id)).status, "ready", "discardAll leaves waiting jobs alone");
          assert.equal(await stint.retryAll(), 0, "discarded jobs are not retried");
        }));

      test("filters with unknown keys or bad names are ConfigErrors", () =>
        withStint(target, {}, async (stint) => {
          await assert.rejects(() => stint.retryAll({ queues: "x" } as unknown as { queue: string }), ConfigError);
          await assert.rejects(() => stint.discardAll({ queue: "" }), ConfigError);
          await assert.rejects(() => stint.discardAll(null as unknown as { queue: string }), ConfigError);
        }));
    });

    describe("discardJob", () => {
      test("discards ready, scheduled and failed jobs, keeping a row with status discarded", () =>
        withStint(target, {}, async (stint) => {
          const ready = await stint.enqueue("t", 1);
          const scheduled = await stint.enqueue("t", 2, { delay: "1h" });
          const failed = await stint.enqueue("t", 3, { queue: "fq" });
          await failQueue(stint, "fq");
          for (const { id } of [ready, scheduled, failed]) {
            assert.deepEqual(await stint.discardJob(id), { id, status: "discarded", duplicate: false });
            const r = await stint.getResult(id);
            assert.equal(r.status, "discarded");
            assert.ok(r.finishedAt instanceof Date);
          }
          assert.deepEqual((await stint.getResult(scheduled.id)).payload, 2);
          assert.equal(await stint.queue("default").size(), 0);
          assert.deepEqual(await stint.driver.queueList({ backend: stint.backend }), []);
          assert.deepEqual(await claim(stint, await registerProcess(stint), ["*"], 10), []);
          assert.equal(await stint.retryAll(), 0);
        }));

      test("a running job cannot be discarded (UndiscardableError) and keeps running", () =>
        withStint(target, {}, async (stint) => {
          const { id } = await stint.enqueue("t", null);
          await claim(stint, await registerProcess(stint), ["*"], 1);
          await assert.rejects(() => stint.discardJob(id), (error: unknown) => {
            assert.ok(error instanceof UndiscardableError, `expected UndiscardableError, got ${error}`);
            assert.equal(error.jobId, id);
            assert.match(error.message, /cancel/);
            return true;
          });
          assert.equal((await stint.getResult(id)).status, "running");
        }));

      test("a succeeded job cannot be discarded; an unknown one is not found", () =>
        withStint(target, {}, async (stint) => {
          const { id } = await stint.enqueue("t", null, { queue: "s" });
          await succeedQueue(stint, "s", { ok: true });
          await assert.rejects(() => stint.discardJob(id), UndiscardableError);
          const r = await stint.getResult(id);
          assert.equal(r.status, "succeeded");
          assert.deepEqual(r.returnValue, { ok: true });
          await assert.rejects(() => stint.discardJob(crypto.randomUUID()), isNotFound);
          await assert.rejects(() => stint.discardJob("x"), isNotFound);
        }));
    });

    describe("enqueueAgain", () => {
      test("enqueues a fresh copy of any stored job", () =>
        withStint(target, {}, async (stint) => {
          const original = await stint.enqueue("copyme", { deep: [1, { two: 2 }] }, { queue: "again", priority: 9 });
          await failQueue(stint, "again");
          const copy = await stint.enqueueAgain(original.id);
          assert.notEqual(copy.id, original.id);
          assert.equal(copy.status, "ready");
          const r = await stint.getResult(copy.id);
          assert.equal(r.task, "copyme");
          assert.equal(r.queue, "again");
          assert.equal(r.priority, 9);
          assert.deepEqual(r.payload, { deep: [1, { two: 2 }] });
          assert.equal(r.attempts, 0);
          assert.deepEqual(r.errors, []);
          assert.equal((await stint.getResult(original.id)).status, "failed", "the original is untouched");

          const succeeded = await stint.enqueue("other", "x", { queue: "done" });
          await succeedQueue(stint, "done");
          const copy2 = await stint.enqueueAgain(succeeded.id);
          assert.equal((await stint.getResult(copy2.id)).status, "ready");
          await assert.rejects(() => stint.enqueueAgain(crypto.randomUUID()), isNotFound);
        }));
    });

    describe("cancel", () => {
      test("cancels ready and scheduled jobs at once", () =>
        withStint(target, {}, async (stint) => {
          const ready = await stint.enqueue("t", null);
          const scheduled = await stint.enqueue("t", null, { delay: "1h" });
          for (const { id } of [ready, scheduled]) {
            assert.deepEqual(await stint.cancel(id), { id, status: "cancelled", duplicate: false });
            const r = await stint.getResult(id);
            assert.equal(r.status, "cancelled");
            assert.ok(r.finishedAt instanceof Date);
          }
          assert.deepEqual(await stint.driver.queueList({ backend: stint.backend }), []);
          assert.deepEqual(await claim(stint, await registerProcess(stint), ["*"], 10), []);
          assert.equal(
            (await stint.driver.jobPromoteDue({
              backend: stint.backend,
              limit: 10,
              now: new Date(Date.now() + 2 * 3_600_000),
            })).count,
            0,
          );
        }));

      test("cancelling a finished job changes nothing; an unknown id is not found", () =>
        withStint(target, {}, async (stint) => {
          const { id } = await stint.enqueue("t", null, { queue: "fin" });
          await succeedQueue(stint, "fin");
          assert.deepEqual(await stint.cancel(id), { id, status: "succeeded", duplicate: false });
          assert.equal((await stint.getResult(id)).status, "succeeded");
          await assert.rejects(() => stint.cancel(crypto.randomUUID()), isNotFound);
          await assert.rejects(() => stint.cancel("nope"), isNotFound);
        }));

      test("cancelling a running job flags it for its runner", () =>
        withStint(target, {}, async (stint) => {
          const { id } = await stint.enqueue("t", null);
          await claim(stint, await registerProcess(stint), ["*"], 1);
          assert.deepEqual(await stint.cancel(id), { id, status: "running", duplicate: false });
          assert.equal((await stint.getResult(id)).status, "running", "it ends when its runner aborts it");
          assert.deepEqual(await stint.driver.jobCancelRequested({ backend: stint.backend, ids: [id] }), [id]);
        }));
    });
  });
}
