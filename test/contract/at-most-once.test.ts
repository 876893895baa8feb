/**
 * `delivery: "at-most-once"` (DESIGN §11): a job whose attempt has started
 * never starts again. A stop that interrupts it fails it with
 * JobInterruptedError, recovery of its lost claim fails it with the process
 * error, and neither retries it whatever `retry` says; a job claimed but never
 * started (the prefetch buffer) goes back to ready; an error its handler
 * throws still retries. The delivery is read from the job's row (the claim
 * carries it), not from the task, so a process without the task's code
 * decides alike.
 *
 * The kill -9 of whole supervisors over 500 jobs is test/supervisor/at-most-once.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, JobInterruptedError, type Stint, StintError, type TaskContext } from "../../mod.ts";
import { type Target, targets, targetsWithEngine } from "../support/targets.ts";
import { fastRuntime, type TestOptions, uniqueName, withDatabase, withStintAt } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

const RETRY = { attempts: 3, backoff: "10ms" } as const;

/** What enqueueing an at-most-once task stores (NewJob.delivery), read back through jobGet. */
async function storeAtMostOnce(_target: Target, _url: string, stint: Stint, ids: string[]): Promise<void> {
  for (const id of ids) {
    assert.equal((await stint.driver.jobGet({ backend: stint.backend, id }))?.delivery, "at-most-once");
  }
}

/** A Stint on a fresh database of `target`, with the database's URL (for storeAtMostOnce). */
function withQueue(
  target: Target,
  options: TestOptions,
  fn: (stint: Stint, url: string) => Promise<void>,
): Promise<void> {
  return withDatabase(target, (url) => withStintAt(url, options, (stint) => fn(stint, url)));
}

/** An at-most-once task (with retry) that counts its runs and never settles: only an abort ends it. */
function stuckTask(name: string) {
  const runs: string[] = [];
  const reasons: string[] = [];
  const task = defineTask(name, (_: null, ctx: TaskContext) => {
    runs.push(ctx.jobId);
    ctx.signal.addEventListener("abort", () => reasons.push((ctx.signal.reason as Error).name));
    return new Promise<never>(() => {});
  }, { delivery: "at-most-once", retry: RETRY });
  return { task, runs, reasons };
}

test("JobInterruptedError is a typed StintError (JOB_INTERRUPTED)", () => {
  const error = new JobInterruptedError();
  assert.ok(error instanceof StintError);
  assert.deepEqual([error.name, error.code], ["JobInterruptedError", "JOB_INTERRUPTED"]);
});

for (const target of targetsWithEngine) {
  describe(target.name, { skip: target.skip }, () => {
    describe("at-most-once: the job's stored delivery reaches every claim reader", () => {
      test("jobClaim, processPruneStale and claimListOrphaned carry delivery; jobGet shows it", () =>
        withQueue(target, {
          tasks: [defineTask("once", () => null, { delivery: "at-most-once" }), defineTask("plain", () => null)],
        }, async (stint, url) => {
          const q = uniqueName();
          const once = await stint.enqueue("once", null, { queue: q });
          const plain = await stint.enqueue("plain", null, { queue: q });
          assert.equal((await stint.driver.jobGet({ backend: stint.backend, id: plain.id }))?.delivery, null);
          await storeAtMostOnce(target, url, stint, [once.id]);

          const ghost = await registerProcess(stint, "ghost");
          const claimed = await claim(stint, ghost, [q], 10);
          const delivery = (jobs: Array<{ id: string; delivery?: string | null }>) =>
            Object.fromEntries(jobs.map((j) => [j.id, j.delivery ?? null]));
          const expected = { [once.id]: "at-most-once", [plain.id]: null };
          assert.deepEqual(delivery(claimed), expected);

          const pruned = await stint.driver.processPruneStale({
            backend: stint.backend,
            staleBefore: new Date(0),
            deadIds: [ghost],
          });
          assert.deepEqual(delivery(pruned.claims), expected, "a pruned process's claims");
          const orphans = await stint.driver.claimListOrphaned({ backend: stint.backend });
          assert.deepEqual(delivery(orphans), expected, "claims whose process is gone");
        }));
    });
  });
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("at-most-once: stop", () => {
      test("a stop past shutdownTimeout fails a started at-most-once job (JobInterruptedError, no retry); it never runs again", () => {
        const stuck = stuckTask("amo_stuck");
        let plainRuns = 0;
        const plain = defineTask("amo_plain_stuck", () => {
          plainRuns++;
          return plainRuns === 1 ? new Promise<never>(() => {}) : "second run";
        }, { retry: RETRY });
        const options = { tasks: [stuck.task, plain], ...fastRuntime(), shutdownTimeout: "100ms" };
        return withQueue(target, options, async (stint, url) => {
          const once = await stint.enqueue(stuck.task, null);
          const again = await stint.enqueue(plain, null);
          await storeAtMostOnce(target, url, stint, [once.id]);
          const supervisor = await stint.start({ mode: "async" });
          await waitFor("both jobs to start", () => stuck.runs.length === 1 && plainRuns === 1);
          await supervisor.stop();
          assert.deepEqual(stuck.reasons, ["ShutdownSignal"], "its signal was aborted at the deadline");

          const failed = await stint.getResult(once.id);
          assert.deepEqual([failed.status, failed.attempts], ["failed", 1]);
          assert.equal(failed.error?.name, "JobInterruptedError");
          assert.deepEqual(failed.errors.map((e) => [e.attempt, e.name]), [[1, "JobInterruptedError"]]);
          const released = await stint.getResult(again.id);
          assert.deepEqual([released.status, released.attempts], ["ready", 0], "an at-least-once job is released");

          await stint.start({ mode: "async" });
          await waitForStatus(stint, again.id, "succeeded");
          assert.equal((await stint.getResult(once.id)).status, "failed");
          assert.deepEqual(stuck.runs, [once.id], "the at-most-once job never ran again");
        });
      });

      test("an immediate stop (SIGQUIT's) fails a started at-most-once job too", () => {
        const stuck = stuckTask("amo_stuck_quit");
        return withQueue(target, { tasks: [stuck.task], ...fastRuntime(), shutdownTimeout: "60s" }, async (stint, url) => {
          const { id } = await stint.enqueue(stuck.task, null);
          await storeAtMostOnce(target, url, stint, [id]);
          const supervisor = await stint.start({ mode: "async" });
          await waitFor("the job to start", () => stuck.runs.length === 1);
          await supervisor.stop(true);
          const r = await stint.getResult(id);
          assert.deepEqual([r.status, r.attempts, r.error?.name], ["failed", 1, "JobInterruptedError"]);
        });
      });

      test("a prefetched at-most-once job that never started goes back to ready at stop, and runs once later", () => {
        const stuck = stuckTask("amo_first");
        const later: string[] = [];
        const second = defineTask("amo_buffered", (_: null, ctx: TaskContext) => {
          later.push(ctx.jobId);
          return "ran";
        }, { delivery: "at-most-once", retry: RETRY });
        const runtime = fastRuntime({ concurrency: 1 });
        runtime.workers = [{ ...runtime.workers[0], prefetch: 1 } as typeof runtime.workers[0]];
        const options = { tasks: [stuck.task, second], ...runtime, shutdownTimeout: "100ms" };
        return withQueue(target, options, async (stint, url) => {
          const first = await stint.enqueue(stuck.task, null, { priority: 10 });
          const buffered = await stint.enqueue(second, null);
          await storeAtMostOnce(target, url, stint, [first.id, buffered.id]);
          const supervisor = await stint.start({ mode: "async" });
          await waitFor("the first job to start", () => stuck.runs.length === 1);
          await waitForStatus(stint, buffered.id, "running"); // claimed into the prefetch buffer
          await supervisor.stop();
          assert.deepEqual(later, [], "the buffered job never started");
          const r = await stint.getResult(buffered.id);
          assert.deepEqual([r.status, r.attempts, r.errors], ["ready", 0, []]);
          assert.equal((await stint.getResult(first.id)).error?.name, "JobInterruptedError");

          await stint.start({ mode: "async" });
          await waitForStatus(stint, buffered.id, "succeeded");
          assert.deepEqual(later, [buffered.id]);
          assert.deepEqual(stuck.runs, [first.id]);
        });
      });
    });

    describe("at-most-once: what ends an attempt", () => {
      test("an error the handler throws still retries per retry", () => {
        const attempts: number[] = [];
        const flaky = defineTask("amo_flaky", (_: null, ctx: TaskContext) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt === 1) throw new Error("first attempt fails");
          return ctx.attempt;
        }, { delivery: "at-most-once", retry: RETRY });
        return withQueue(target, { tasks: [flaky], ...fastRuntime() }, async (stint, url) => {
          const { id } = await stint.enqueue(flaky, null);
          await storeAtMostOnce(target, url, stint, [id]);
          await stint.start({ mode: "async" });
          const r = await waitForStatus(stint, id, "succeeded");
          assert.equal(r.returnValue, 2);
          assert.deepEqual(attempts, [1, 2]);
          assert.deepEqual(r.errors.map((e) => [e.attempt, e.message]), [[1, "first attempt fails"]]);
        });
      });

      test("a timeout ends it failed, not retried (its handler may even run on)", () => {
        const runs: number[] = [];
        const slow = defineTask("amo_slow", (_: null, ctx: TaskContext) => {
          runs.push(ctx.attempt);
          return new Promise<never>(() => {});
        }, { delivery: "at-most-once", retry: RETRY, timeout: "50ms" });
        return withQueue(target, { tasks: [slow], ...fastRuntime() }, async (stint, url) => {
          const { id } = await stint.enqueue(slow, null);
          await storeAtMostOnce(target, url, stint, [id]);
          await stint.start({ mode: "async" });
          const r = await waitForStatus(stint, id, "failed");
          assert.deepEqual([r.attempts, r.error?.name], [1, "JobTimeoutError"]);
          assert.deepEqual(runs, [1]);
        });
      });
    });

    describe("at-most-once: recovery of lost claims", () => {
      test("claims of a pruned or missing process fail without retry; at-least-once ones with retry run again", () => {
        const ran: string[] = [];
        const once = defineTask("amo_recovered", (_: null, ctx: TaskContext) => void ran.push(ctx.jobId), {
          delivery: "at-most-once",
          retry: RETRY,
        });
        const plain = defineTask("alo_recovered", (_: null, ctx: TaskContext) => ctx.attempt, { retry: RETRY });
        const options = { tasks: [once, plain], ...fastRuntime(), processAliveThreshold: "1h" };
        return withQueue(target, options, async (stint, url) => {
          // One process stale long ago (pruned), one whose row is gone (its claims are missing their process).
          const stale = crypto.randomUUID();
          await stint.driver.processRegister({
            backend: stint.backend,
            id: stale,
            info: { kind: "worker", name: "stale", pid: 1, hostname: "elsewhere", metadata: {}, supervisorId: null },
            now: new Date(Date.now() - 2 * 3600_000),
          });
          const gone = await registerProcess(stint, "gone");
          const jobs: Record<string, { once: string; plain: string }> = {};
          for (const [name, processId] of [["ProcessPrunedError", stale], ["ProcessMissingError", gone]]) {
            const q = uniqueName();
            const a = await stint.enqueue(once, null, { queue: q });
            const b = await stint.enqueue(plain, null, { queue: q });
            await storeAtMostOnce(target, url, stint, [a.id]);
            assert.equal((await claim(stint, processId, [q], 10)).length, 2);
            jobs[name] = { once: a.id, plain: b.id };
          }
          await stint.driver.processDeregister({ backend: stint.backend, id: gone });

          await stint.start({ mode: "async" });
          for (const [name, ids] of Object.entries(jobs)) {
            const failed = await stint.getResult(ids.once);
            assert.deepEqual([failed.status, failed.attempts, failed.error?.name], ["failed", 1, name]);
            const again = await waitForStatus(stint, ids.plain, "succeeded");
            assert.deepEqual([again.attempts, again.errors.map((e) => e.name)], [2, [name]]);
          }
          assert.deepEqual(ran, [], "no at-most-once job ran again");
        });
      });
    });
  });
}
