/**
 * ctx.progress (DESIGN §12), in both modes, against every target: the value
 * the attempt ends with is what getResult().progress shows, after a success
 * and after a failure; the writes are throttled to about one a second (counted
 * through the real driver, not timed); a value that is not JSON throws a
 * ResultError and stores nothing; a job that never reports has null.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, type Stint } from "../../mod.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { uniqueName, withStint } from "../support/harness.ts";
import { targets } from "../support/targets.ts";
import { TASKS_URL } from "../supervisor/support.ts";

/** Counts the progress writes the runtime sends through the (real) driver. */
function countWrites(stint: Stint): { readonly count: number } {
  const driver = stint.driver;
  const write = driver.jobProgress.bind(driver);
  let count = 0;
  driver.jobProgress = (params) => {
    count++;
    return write(params);
  };
  return {
    get count() {
      return count;
    },
  };
}

const options = {
  tasks: TASKS_URL,
  workers: [{ pollingInterval: "20ms", concurrency: 2, isolates: 1 }],
  dispatchers: [{ pollingInterval: "20ms" }],
  shutdownTimeout: "1s",
};

/** A transactional task's ctx.progress is refused (its write would wait for the handler's own transaction). */
const inTx = defineTask("progress_in_tx", (_: null, ctx) => {
  try {
    ctx.progress({ n: 1 });
    return "stored";
  } catch (error) {
    return (error as Error).name;
  }
}, { transactional: true });

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("ctx.progress", () => {
      for (const mode of ["async", "worker"] as const) {
        test(`in ${mode} mode: the last value is kept, writes are throttled, a bad value is refused`, () =>
          withStint(target, options, async (stint) => {
            const writes = countWrites(stint);
            await stint.start({ mode });
            const started = Date.now();
            const job = await stint.enqueue("progress", { n: 30, ms: 40 });
            const result = await stint.waitFor(job, { timeout: "30s" });
            const elapsed = Date.now() - started;
            assert.equal(result.status, "succeeded");
            assert.deepEqual(result.returnValue, { refused: "ResultError" });
            assert.deepEqual(result.progress, { done: 30 });
            assert.ok(result.progressAt instanceof Date);
            // 31 values given over the run: one write a second at most, plus the first and the final one.
            const most = Math.ceil(elapsed / 1000) + 2;
            assert.ok(
              writes.count >= 1 && writes.count <= most,
              `${writes.count} writes in ${elapsed} ms (at most ${most})`,
            );
          }));
      }

      test("jobProgress writes only for the claim's holder, and nothing once the job has ended", () =>
        withStint(target, { tasks: TASKS_URL }, async (stint) => {
          const queue = uniqueName();
          const { id } = await stint.enqueue("add", { a: 1, b: 2 }, { queue });
          const processId = await registerProcess(stint);
          const other = await registerProcess(stint);
          const [job] = await claim(stint, processId, [queue], 1);
          const write = (value: unknown, p = processId, token = job.claim) =>
            stint.driver.jobProgress({
              backend: stint.backend,
              processId: p,
              jobId: id,
              claim: token,
              value: JSON.stringify(value),
              now: new Date(),
            });
          assert.equal(await write({ n: 1 }), true);
          assert.deepEqual((await stint.getResult(id)).progress, { n: 1 });
          assert.equal(await write({ n: 2 }, other), false, "another process");
          assert.equal(
            await write({ n: 3 }, processId, { ...job.claim, attempt: job.claim.attempt + 1 }),
            false,
            "another attempt",
          );
          assert.deepEqual((await stint.getResult(id)).progress, { n: 1 });
          await stint.driver.jobFinishMany({
            backend: stint.backend,
            processId,
            outcomes: [{ id, kind: "succeeded", returnValue: "3", claim: job.claim }],
            preserveFinished: true,
            now: new Date(),
          });
          assert.equal(await write({ n: 4 }), false, "after the outcome");
          const ended = await stint.getResult(id);
          assert.equal(ended.status, "succeeded");
          assert.deepEqual(ended.progress, { n: 1 });
        }));

      test("in a transactional task ctx.progress is a TransactionError and nothing is stored", () =>
        withStint(target, { ...options, tasks: [inTx] }, async (stint) => {
          await stint.start({ mode: "async" });
          const result = await stint.waitFor(await stint.enqueue(inTx, null), { timeout: "30s" });
          assert.equal(result.status, "succeeded");
          assert.equal(result.returnValue, "TransactionError");
          assert.equal(result.progress, null);
        }));

      test("a failed job keeps the progress it ended with; a job that never reports has none", () =>
        withStint(target, options, async (stint) => {
          await stint.start({ mode: "async" });
          const failed = await stint.enqueue("progress", { n: 2, ms: 5, fail: true });
          const plain = await stint.enqueue("add", { a: 1, b: 2 });
          const result = await stint.waitFor(failed, { timeout: "30s" });
          assert.equal(result.status, "failed");
          assert.deepEqual(result.progress, { done: 2 });
          const other = await stint.waitFor(plain, { timeout: "30s" });
          assert.equal(other.progress, null);
          assert.equal(other.progressAt, null);
        }));
    });
  });
}
