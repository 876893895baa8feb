import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, JobCancelledError, type TaskContext } from "../../mod.ts";
import type { ClaimedJob } from "../../src/records.ts";
import { errorInfo, safeErrorInfo } from "../../src/errors.ts";
import { NotStartedSignal, ShutdownSignal } from "../../src/errors.ts";
import { executeInIsolate, executeJob, failure, type IsolateDone, JobAbort } from "../../src/runtime/execute.ts";
import { JobTimeoutError, ProcessExitError, ProcessMissingError, ProcessPrunedError } from "../../src/errors.ts";
import { hostileValue } from "../fixtures/tasks.ts";

function claimed(payload: unknown, attempt = 1): ClaimedJob {
  return {
    id: "0190a000-0000-7000-8000-000000000001",
    task: "t",
    queue: "default",
    priority: 0,
    payload: JSON.stringify(payload),
    attempt,
    enqueuedAt: new Date(0),
    claim: { attempt, startedAt: 0 },
  };
}

describe("JobAbort", () => {
  test("a signal asked for after the abort is already aborted, with the abort's reason", () => {
    const abort = new JobAbort();
    const reason = new Error("why");
    abort.abort(reason);
    assert.equal(abort.signal.aborted, true);
    assert.equal(abort.signal.reason, reason);
  });

  test("a signal asked for before the abort fires its listeners once; a second abort changes nothing", () => {
    const abort = new JobAbort();
    const seen: unknown[] = [];
    abort.signal.addEventListener("abort", () => seen.push(abort.signal.reason));
    abort.abort("first");
    abort.abort("second");
    assert.deepEqual(seen, ["first"]);
    assert.equal(abort.reason, "first");
  });

  test("race rejects with the reason when aborted, and passes a settled value through otherwise", async () => {
    const abort = new JobAbort();
    const never = abort.race(new Promise(() => {}));
    abort.abort(new ShutdownSignal());
    await assert.rejects(never, ShutdownSignal);
    assert.equal(await new JobAbort().race(Promise.resolve(7)), 7);
    await assert.rejects(abort.race(Promise.resolve(1)), ShutdownSignal, "a race started after the abort loses at once");
  });
});

describe("executeJob", () => {
  test("a synchronous handler's value is the job's result", async () => {
    const task = defineTask("t", (p: { n: number }) => ({ double: p.n * 2 }));
    const outcome = await executeJob(claimed({ n: 21 }), task, new JobAbort());
    assert.deepEqual(outcome, { id: claimed(0).id, kind: "succeeded", returnValue: '{"double":42}' });
  });

  test("a handler that throws synchronously fails the job with its error", async () => {
    const task = defineTask("t", () => {
      throw new TypeError("bad payload");
    });
    const outcome = await executeJob(claimed(null), task, new JobAbort());
    assert.equal(outcome.kind, "failed");
    assert.equal(outcome.kind === "failed" && outcome.error.name, "TypeError");
  });

  test("a thenable that is not a Promise is awaited", async () => {
    const thenable: unknown = { then: (resolve: (v: string) => void) => resolve("from a thenable") };
    const task = defineTask("t", () => thenable);
    const outcome = await executeJob(claimed(null), task, new JobAbort());
    assert.equal(outcome.kind === "succeeded" && outcome.returnValue, '"from a thenable"');
  });

  test("a handler that never settles ends by its abort's reason: cancelled, released or failed", async () => {
    const task = defineTask("t", () => new Promise(() => {}));
    for (
      const [reason, kind] of [
        [new JobCancelledError("x"), "cancelled"],
        [new ShutdownSignal(), "released"],
        [new Error("other"), "failed"],
      ] as const
    ) {
      const abort = new JobAbort();
      const pending = executeJob(claimed(null), task, abort);
      abort.abort(reason);
      assert.equal((await pending).kind, kind);
    }
  });

  test("a timeout is seen by a handler that reads ctx.signal only after it fired", async () => {
    let late: AbortSignal | null = null;
    const task = defineTask("t", async (_p: unknown, ctx: TaskContext) => {
      await new Promise((r) => setTimeout(r, 60));
      late = ctx.signal;
    }, { timeout: "20ms" });
    const outcome = await executeJob(claimed(null), task, new JobAbort());
    assert.equal(outcome.kind === "failed" && outcome.error.name, "JobTimeoutError");
    await new Promise((r) => setTimeout(r, 80));
    assert.equal((late as AbortSignal | null)?.aborted, true, "the late reader got an aborted signal");
    assert.equal(((late as AbortSignal | null)?.reason as Error).name, "JobTimeoutError");
  });

  test("a value returned after the abort is ignored", async () => {
    const abort = new JobAbort();
    const task = defineTask("t", () => {
      abort.abort(new JobCancelledError("y"));
      return "too late";
    });
    const outcome = await executeJob(claimed(null), task, abort);
    assert.equal(outcome.kind, "cancelled");
  });

  test("a hostile thrown value (a Proxy, throwing getters or conversions) still fails the job, with a readable error", async () => {
    for (const which of [1, 2, 3]) {
      const task = defineTask("t", () => {
        throw hostileValue(which);
      }, { retry: { attempts: 2, backoff: "10ms" } });
      for (const [attempt, kind] of [[1, "retry"], [2, "failed"]] as const) {
        const outcome = await executeJob(claimed(null, attempt), task, new JobAbort());
        assert.equal(outcome.kind, kind, `value ${which}, attempt ${attempt}`);
        const error = (outcome as { error: { name: unknown; message: unknown; stack: unknown } }).error;
        assert.equal(typeof error.name, "string");
        assert.equal(typeof error.message, "string");
        assert.ok(error.stack === null || typeof error.stack === "string");
      }
      // Rejected rather than thrown: the same.
      const rejects = defineTask("t", () => Promise.reject(hostileValue(which)));
      assert.equal((await executeJob(claimed(null), rejects, new JobAbort())).kind, "failed");
    }
  });

  test("worker mode: the outcome waits for the isolate to be done with the job; one never started is released", async () => {
    const task = defineTask("t", () => null, { timeout: "10ms" });
    let finish!: (done: IsolateDone) => void;
    const ran = new Promise<IsolateDone>((resolve) => (finish = resolve));
    let decided = false;
    const pending = executeInIsolate(claimed(null), task, new JobAbort(), () => ran).then((o) => (decided = true, o));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(decided, false, "timed out, but the isolate still runs the handler: no outcome yet");
    finish({ kind: "ok", json: '"late"' });
    const outcome = await pending;
    assert.equal(outcome.kind === "failed" && outcome.error.name, "JobTimeoutError");

    const never = Promise.reject(new NotStartedSignal("the isolate went first"));
    assert.deepEqual(await executeInIsolate(claimed(null), task, new JobAbort(), () => never), {
      id: claimed(0).id,
      kind: "released",
    });
    let drop!: (error: unknown) => void;
    const queuedRun = new Promise<IsolateDone>((_, reject) => (drop = reject));
    const cancelled = new JobAbort();
    const queued = executeInIsolate(claimed(null), defineTask("t", () => null), cancelled, () => queuedRun);
    cancelled.abort(new JobCancelledError("x"));
    drop(new NotStartedSignal("the isolate went first"));
    assert.equal((await queued).kind, "cancelled", "a cancelled job that never started stays cancelled");
  });
});

describe("executeInIsolate", () => {
  test("hands the payload text over as stored and stores the isolate's JSON text as it came", async () => {
    // Spacing no JSON.stringify produces: a parse and a stringify on the way would change it.
    const payload = '{ "n" : 21 }';
    const answer = '{ "double" : 42 }';
    const seen: string[] = [];
    const job = { ...claimed(null), payload };
    const outcome = await executeInIsolate(job, defineTask("t", () => null), new JobAbort(), (handed) => {
      seen.push(handed.payload);
      return Promise.resolve({ kind: "ok" as const, json: answer });
    });
    assert.deepEqual(seen, [payload]);
    assert.deepEqual(outcome, { id: job.id, kind: "succeeded", returnValue: answer });
  });
});

describe("at-most-once (DESIGN §11)", () => {
  const once = (attempt = 1): ClaimedJob => ({ ...claimed(null, attempt), delivery: "at-most-once" });
  const retried = defineTask("t", () => null, { retry: { attempts: 3, backoff: "1s" } });

  test("a lost process, a stop or a timeout fails it for good; a thrown error still retries", () => {
    const now = () => 0;
    for (const error of [new ProcessExitError(), new ProcessPrunedError(), new ProcessMissingError(), new JobTimeoutError(5)]) {
      assert.equal(failure(once(), retried, error, now).kind, "failed", error.name);
      assert.equal(failure(claimed(null), retried, error, now).kind, "retry", `at-least-once: ${error.name}`);
    }
    assert.equal(failure(once(), retried, new Error("thrown"), now).kind, "retry");
    assert.equal(failure(once(), retried, new Error("runtime's own"), now, true).kind, "failed");
  });

  test("a stop fails a started job with JobInterruptedError; one an isolate never started goes back to ready", async () => {
    const abort = new JobAbort();
    const running = executeJob(once(), defineTask("t", () => new Promise(() => {}), { retry: { attempts: 3 } }), abort);
    abort.abort(new ShutdownSignal());
    const outcome = await running;
    assert.deepEqual([outcome.kind, outcome.kind === "failed" && outcome.error.name], ["failed", "JobInterruptedError"]);

    let drop!: (error: unknown) => void;
    const queuedRun = new Promise<IsolateDone>((_, reject) => (drop = reject));
    const stopped = new JobAbort();
    const queued = executeInIsolate(once(), retried, stopped, () => queuedRun);
    stopped.abort(new ShutdownSignal());
    drop(new NotStartedSignal("the pool stopped"));
    assert.deepEqual(await queued, { id: claimed(0).id, kind: "released" });
  });
});

describe("transactional (DESIGN §11)", () => {
  test("a crashed attempt runs again without a retry of its own, within a bound; a thrown one does not", () => {
    const tx = defineTask("t", () => null, { transactional: true });
    const crash = new ProcessExitError("gone");
    assert.equal(failure(claimed(null, 1), tx, crash, () => 0).kind, "retry");
    assert.equal(failure(claimed(null, 9), tx, new ProcessPrunedError("p"), () => 0).kind, "retry");
    assert.equal(failure(claimed(null, 10), tx, new ProcessMissingError("m"), () => 0).kind, "failed");
    assert.equal(failure(claimed(null, 1), tx, new Error("thrown"), () => 0).kind, "failed", "no retry: a throw is final");
    const plain = defineTask("t", () => null);
    assert.equal(failure(claimed(null, 1), plain, crash, () => 0).kind, "failed", "only transactional tasks rerun");
  });

  test("transactional and at-most-once together are a ConfigError", () => {
    assert.throws(
      () => defineTask("t", () => null, { transactional: true, delivery: "at-most-once" }),
      /contradict each other/,
    );
  });
});

describe("safeErrorInfo", () => {
  test("never throws, and every field is a string", () => {
    for (const value of [hostileValue(1), hostileValue(2), hostileValue(3), undefined, null, Symbol("s"), () => 1]) {
      const info = safeErrorInfo(value);
      assert.equal(typeof info.name, "string");
      assert.equal(typeof info.message, "string");
    }
    assert.equal(safeErrorInfo(hostileValue(1)).name, "UnreadableError");
    assert.deepEqual(safeErrorInfo(hostileValue(2)), { name: "Error", message: "", stack: null });
    assert.equal(safeErrorInfo(hostileValue(3)).name, "UnreadableError");
    const plain = new TypeError("plain");
    assert.deepEqual(safeErrorInfo(plain), errorInfo(plain));
    assert.deepEqual(safeErrorInfo({ a: 1 }), errorInfo({ a: 1 }));
    assert.deepEqual(safeErrorInfo(undefined), errorInfo(undefined));
  });
});
