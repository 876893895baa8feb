import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, JobCancelledError, type TaskContext } from "../../mod.ts";
import type { ClaimedJob } from "../../src/driver.ts";
import { executeJob, JobAbort, ShutdownSignal } from "../../src/runtime/execute.ts";

function claimed(payload: unknown, attempt = 1): ClaimedJob {
  return {
    id: "0190a000-0000-7000-8000-000000000001",
    task: "t",
    queue: "default",
    priority: 0,
    payload: JSON.stringify(payload),
    attempt,
    enqueuedAt: new Date(0),
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
});
