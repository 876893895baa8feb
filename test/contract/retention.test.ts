/** Retention: prune() and the scheduler's cleanup, bounded, filtered and scoped by backend (SEMANTICS 20). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defineTask, JobNotFoundError, type Stint } from "../../mod.ts";
import { type Target, targets } from "../support/targets.ts";
import { fastRuntime, sleep, withDatabase, withStint, withStintAt } from "../support/harness.ts";
import { failQueue, succeedQueue } from "../support/driver.ts";
import { waitFor } from "../support/wait.ts";

function withTwo(target: Target, fn: (a: Stint, b: Stint) => Promise<void>): Promise<void> {
  return withDatabase(target, (url) => withStintAt(url, {}, (a) => withStintAt(url, {}, (b) => fn(a, b))));
}

async function exists(stint: Stint, id: string): Promise<boolean> {
  try {
    await stint.getResult(id);
    return true;
  } catch (error) {
    if (error instanceof JobNotFoundError) return false;
    throw error;
  }
}

/** Enqueues `count` jobs of `task` on `queue` and finishes them all as succeeded. */
async function finished(stint: Stint, queue: string, count: number, task = "t"): Promise<string[]> {
  const handles = await stint.enqueueAll(Array.from({ length: count }, () => ({ task, payload: null, options: { queue } })));
  let done = 0;
  while (done < count) done += (await succeedQueue(stint, queue)).length;
  return handles.map((h) => h.id);
}

/** A recurring reservation made at `createdAt` (its age is what retention looks at). */
function reserve(stint: Stint, key: string, runAt: number, createdAt: Date) {
  return stint.driver.recurringReserve({ backend: stint.backend, key, runAt: new Date(runAt), jobId: crypto.randomUUID(), now: createdAt });
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("retention: prune", () => {
      test("finished jobs older than the window go; newer, waiting and failed ones stay", () =>
        withStint(target, {}, async (stint) => {
          const old = await finished(stint, "q", 3);
          const discarded = (await stint.enqueue("t", null, { queue: "d" })).id;
          await stint.discardJob(discarded);
          const [failed] = await stint.enqueueAll([{ task: "t", options: { queue: "f" } }]);
          await failQueue(stint, "f");
          await sleep(50);
          const boundary = Date.now();
          await sleep(50);
          const fresh = await finished(stint, "q", 2);
          const waiting = (await stint.enqueue("t", null, { queue: "w" })).id;
          const result = await stint.prune({ finishedOlderThan: Date.now() - boundary });
          assert.deepEqual(result, { finished: 4, failed: 0, recurring: 0, limitReached: false });
          for (const id of [...old, discarded]) assert.equal(await exists(stint, id), false);
          for (const id of [...fresh, waiting, failed.id]) assert.equal(await exists(stint, id), true);
        }));

      test("failed jobs go only with failedOlderThan; task filters jobs, taskKey filters reservations", () =>
        withStint(target, {}, async (stint) => {
          const mine = await finished(stint, "a", 2, "mine");
          const theirs = await finished(stint, "b", 2, "theirs");
          await stint.enqueueAll([{ task: "mine", options: { queue: "fa" } }, { task: "theirs", options: { queue: "fb" } }]);
          const failedMine = await failQueue(stint, "fa");
          const failedTheirs = await failQueue(stint, "fb");
          const longAgo = new Date(Date.now() - 86_400_000);
          await reserve(stint, "nightly", 1, longAgo);
          await reserve(stint, "nightly", 2, longAgo);
          await reserve(stint, "hourly", 1, longAgo);
          await sleep(5);
          const byTask = await stint.prune({ finishedOlderThan: 0, failedOlderThan: 0, task: "mine" });
          assert.deepEqual(byTask, { finished: 2, failed: 1, recurring: 0, limitReached: false });
          for (const id of [...mine, ...failedMine]) assert.equal(await exists(stint, id), false);
          for (const id of [...theirs, ...failedTheirs]) assert.equal(await exists(stint, id), true);
          assert.equal((await stint.prune({ recurringOlderThan: "1h", taskKey: "nightly" })).recurring, 2);
          assert.equal((await stint.prune({ recurringOlderThan: "1h" })).recurring, 1);
          assert.equal((await stint.prune({ recurringOlderThan: "1h" })).recurring, 0);
        }));

      test("without windows, prune uses the configured ones", () =>
        withDatabase(target, (url) =>
          withStintAt(url, { clearFinishedJobsAfter: "50ms", clearFailedJobsAfter: "50ms" }, async (stint) => {
            const ok = await finished(stint, "q", 1);
            await stint.enqueue("t", null, { queue: "f" });
            const bad = await failQueue(stint, "f");
            await reserve(stint, "k", 1, new Date(0));
            await sleep(80);
            assert.deepEqual(await stint.prune(), { finished: 1, failed: 1, recurring: 0, limitReached: false });
            assert.equal(await exists(stint, ok[0]), false);
            assert.equal(await exists(stint, bad[0]), false);
          }))
      );

      test("prune is scoped by backend", () =>
        withTwo(target, async (a, b) => {
          const inA = await finished(a, "q", 2);
          const inB = await finished(b, "q", 2);
          await reserve(b, "k", 1, new Date(0));
          await sleep(5);
          assert.deepEqual(await a.prune({ finishedOlderThan: 0, failedOlderThan: 0, recurringOlderThan: 0 }), {
            finished: 2, failed: 0, recurring: 0, limitReached: false,
          });
          for (const id of inA) assert.equal(await exists(a, id), false);
          for (const id of inB) assert.equal(await exists(b, id), true);
        }));

      test("a burst of 10,000 finished jobs is cleaned down to the window in bounded batches", () =>
        withStint(target, {}, async (stint) => {
          await finished(stint, "burst", 10_000);
          await sleep(50);
          const boundary = Date.now(); // the window ends here, however long the cleanup takes
          await sleep(50);
          const recent = await finished(stint, "burst", 5);
          const rounds: number[] = [];
          for (;;) {
            const r = await stint.prune({ finishedOlderThan: Date.now() - boundary, batchSize: 1500 });
            assert.ok(r.finished <= 1500, "a call never deletes more than its batch");
            rounds.push(r.finished);
            if (!r.limitReached) break;
            assert.ok(rounds.length < 20, "the burst is done in a bounded number of calls");
          }
          assert.deepEqual(rounds, [1500, 1500, 1500, 1500, 1500, 1500, 1000]);
          for (const id of recent) assert.equal(await exists(stint, id), true);
        }));

      test("bad prune options are ConfigErrors", () =>
        withStint(target, {}, async (stint) => {
          const rejects = (options: unknown, pattern: RegExp) =>
            assert.rejects(() => stint.prune(options as never), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
          await rejects({ batchSize: 0 }, /batchSize/);
          await rejects({ batchSize: 2.5 }, /batchSize/);
          await rejects({ finishedOlderThan: "a week" }, /finishedOlderThan/);
          await rejects({ olderThan: "1d" }, /unknown option "olderThan"/);
          await rejects({ task: "" }, /task/);
        }));
    });

    describe("retention: scheduler", () => {
      test("the scheduler clears finished jobs, failed jobs and reservations past their windows", () => {
        const ok = defineTask("ok", () => 1);
        const fails = defineTask("fails", () => {
          throw new Error("no");
        });
        return withStint(target, {
          tasks: [ok, fails],
          ...fastRuntime(),
          scheduler: { pollingInterval: "50ms" },
          clearFinishedJobsAfter: "200ms",
          clearFailedJobsAfter: "200ms",
          clearRecurringExecutionsAfter: "200ms",
        }, async (stint) => {
          const a = await stint.enqueue(ok);
          const b = await stint.enqueue(fails);
          await reserve(stint, "k", 1, new Date());
          await stint.start({ mode: "async" });
          await waitFor("both to finish", async () => {
            const [ra, rb] = await Promise.all([stint.getResult(a.id), stint.getResult(b.id)]);
            return ra.status === "succeeded" && rb.status === "failed";
          });
          await waitFor("both to be cleaned up", async () => !(await exists(stint, a.id)) && !(await exists(stint, b.id)), {
            timeout: 5000,
          });
          assert.equal((await stint.prune({ recurringOlderThan: 0 })).recurring, 0, "the reservation was cleared too");
        });
      });
    });
  });
}
