/**
 * One attempt of a task with steps or hooks (src/runtime/body.ts via
 * executeJob), with no queue behind it: the order of the hooks, what each
 * failure does, and what a step's attempt answers. The durable calls are
 * covered against real databases in test/contract/.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defineTask } from "../../mod.ts";
import type { ClaimedJob } from "../../src/records.ts";
import { executeJob, JobAbort } from "../../src/runtime/execute.ts";

function claimed(payload: unknown, extra: Partial<ClaimedJob> = {}): ClaimedJob {
  const attempt = extra.attempt ?? 1;
  return {
    id: "0190a000-0000-7000-8000-000000000001",
    task: "t",
    queue: "default",
    priority: 0,
    payload: JSON.stringify(payload),
    attempt,
    enqueuedAt: new Date(0),
    claim: { attempt, startedAt: 0 },
    workspace: null,
    step: null,
    parentId: null,
    ...extra,
  };
}

describe("hooks", () => {
  test("before, handler, after run in order; after sees the same job", async () => {
    const seen: string[] = [];
    const task = defineTask("t", (p: { n: number }) => (seen.push(`handler ${p.n}`), p.n + 1), {
      hooks: {
        before: (job) => void seen.push(`before ${job.attempt}`),
        after: (job) => void seen.push(`after ${(job.payload as { n: number }).n}`),
        onFailure: () => void seen.push("onFailure"),
      },
    });
    const outcome = await executeJob(claimed({ n: 1 }), task, new JobAbort());
    assert.deepEqual(outcome, { id: claimed(0).id, kind: "succeeded", returnValue: "2" });
    assert.deepEqual(seen, ["before 1", "handler 1", "after 1"]);
  });

  test("a failing before fails the attempt like the handler: the handler does not run, onFailure then after do, retry applies", async () => {
    const seen: string[] = [];
    const task = defineTask("t", () => void seen.push("handler"), {
      retry: { attempts: 2 },
      hooks: {
        before: () => {
          throw new Error("no");
        },
        onFailure: (_job, error, ctx) => void seen.push(`onFailure ${(error as Error).message} ${ctx.willRetry}`),
        after: () => void seen.push("after"),
      },
    });
    const first = await executeJob(claimed(null), task, new JobAbort());
    assert.equal(first.kind, "retry");
    assert.deepEqual(seen, ["onFailure no true", "after"]);
    seen.length = 0;
    const last = await executeJob(claimed(null, { attempt: 2, claim: { attempt: 2, startedAt: 0 } }), task, new JobAbort());
    assert.equal(last.kind === "failed" && last.error.message, "no");
    assert.deepEqual(seen, ["onFailure no false", "after"]);
  });

  test("what after and onFailure throw never changes the outcome; it is reported", async () => {
    const reported: unknown[] = [];
    const ok = defineTask("t", () => 1, {
      hooks: {
        after: () => {
          throw new Error("after broke");
        },
      },
    });
    const outcome = await executeJob(claimed(null), ok, new JobAbort(), undefined, (error) => reported.push(error));
    assert.equal(outcome.kind, "succeeded");
    const failing = defineTask("t", () => {
      throw new Error("handler broke");
    }, {
      hooks: {
        onFailure: () => Promise.reject(new Error("onFailure broke")),
        after: () => {
          throw new Error("after broke too");
        },
      },
    });
    const failed = await executeJob(claimed(null), failing, new JobAbort(), undefined, (error) => reported.push(error));
    assert.equal(failed.kind === "failed" && failed.error.message, "handler broke");
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(reported.map((e) => (e as Error).message), ["after broke", "onFailure broke", "after broke too"]);
  });

  test("unknown hooks and hooks that are not functions are ConfigErrors", () => {
    assert.throws(() => defineTask("t", () => 1, { hooks: { onStart: () => {} } as never }), ConfigError);
    assert.throws(() => defineTask("t", () => 1, { hooks: { before: 1 } as never }), /hook before must be a function/);
  });
});

describe("durable calls", () => {
  test("a handler that returns before a durable call settled fails with StepError, and the call's rejection is handled", async () => {
    // No queue behind these jobs: the durable call itself rejects (executeJob's default services).
    const unawaited = defineTask("t", (_p, ctx) => {
      void ctx.step("later", () => 1);
      return 1;
    });
    const outcome = await executeJob(claimed(null), unawaited, new JobAbort());
    assert.equal(outcome.kind === "failed" && outcome.error.name, "StepError");
    assert.match(outcome.kind === "failed" ? outcome.error.message : "", /still pending: await each one/);
    const steps = defineTask("t", [(_ws, ctx) => {
      void ctx.sleep("nap", "1h");
    }]);
    const step = await executeJob(claimed({}), steps, new JobAbort());
    assert.equal(step.kind === "failed" && step.error.name, "StepError");
    // An unhandled rejection would end this test process (Deno, Node) or fail it (Bun).
    await new Promise((r) => setTimeout(r, 20));
  });

  test("bad names and Durations are StepErrors, thrown by the call (before anything is stored)", async () => {
    const errors: string[] = [];
    const task = defineTask("t", async (_p, ctx) => {
      for (const call of [
        () => ctx.step("", () => 1),
        () => ctx.step("x".repeat(201), () => 1),
        () => ctx.step(7 as never, () => 1),
        () => ctx.sleep("nap", "soon"),
        () => ctx.sleep("nap2", -1),
        () => ctx.sleepUntil("nap3", new Date(NaN)),
        () => ctx.join("j", "nope" as never),
        () => ctx.spawn("s", 42 as never),
      ]) {
        await call().then(() => errors.push("resolved"), (e: Error) => errors.push(e.name));
      }
    });
    await executeJob(claimed(null), task, new JobAbort());
    assert.deepEqual(errors, Array(8).fill("StepError"));
  });
});

describe("multi-step tasks", () => {
  const steps = defineTask("t", [
    function download(ws: { rows?: number[] }) {
      ws.rows = [1, 2, 3];
    },
    function store(ws: { rows?: number[]; stored?: boolean }) {
      ws.stored = true;
      return ws.rows!.length;
    },
  ]);

  test("a step that is not the last answers advance with the workspace and the next position", async () => {
    const outcome = await executeJob(claimed({ id: 7 }), steps, new JobAbort());
    assert.deepEqual(outcome, {
      id: claimed(0).id,
      kind: "advance",
      workspace: '{"id":7,"rows":[1,2,3]}',
      step: '{"index":1,"name":"store","count":2,"base":1}',
    });
  });

  test("the last step's value is the result, with the final workspace", async () => {
    const job = claimed({ id: 7 }, { workspace: '{"id":7,"rows":[1,2,3]}', step: '{"index":1,"name":"store","count":2}' });
    assert.deepEqual(await executeJob(job, steps, new JobAbort()), {
      id: job.id,
      kind: "succeeded",
      returnValue: "3",
      workspace: '{"id":7,"rows":[1,2,3],"stored":true}',
    });
  });

  test("a step that throws fails the attempt and writes no workspace", async () => {
    const failing = defineTask("t", [(ws: { x?: number }) => {
      ws.x = 1;
      throw new Error("step broke");
    }]);
    const outcome = await executeJob(claimed({}), failing, new JobAbort());
    assert.equal(outcome.kind, "failed");
    assert.equal("workspace" in outcome, false);
  });

  test("a step that replaces the workspace with a non-object fails with ResultError", async () => {
    const bad = defineTask("t", [(ws: Record<string, unknown>) => {
      ws.when = new Map();
    }]);
    const outcome = await executeJob(claimed({}), bad, new JobAbort());
    assert.equal(outcome.kind === "failed" && outcome.error.name, "ResultError");
  });

  test("a job at a step the task no longer has fails, naming it", async () => {
    const job = claimed({}, { step: '{"index":5,"name":"gone","count":6}' });
    const outcome = await executeJob(job, steps, new JobAbort());
    assert.match(outcome.kind === "failed" ? outcome.error.message : "", /step 6 \(gone\) of 6/);
  });

  test("an empty step list, a non-function step and two steps of one name are ConfigErrors", () => {
    assert.throws(() => defineTask("t", []), /at least one step/);
    assert.throws(() => defineTask("t", [() => 1, "x" as never]), /step 2 is string, not a function/);
    assert.throws(() => defineTask("t", [function a() {}, function a() {}]), /two steps are named "a"/);
  });

  test("before runs before each step, with the workspace as the job's payload", async () => {
    const seen: unknown[] = [];
    const task = defineTask("t", [function one() {}, function two() {}], {
      hooks: { before: (job) => void seen.push([job.step?.name, job.payload]) },
    });
    await executeJob(claimed({ a: 1 }), task, new JobAbort());
    await executeJob(claimed({ a: 1 }, { workspace: '{"a":2}', step: '{"index":1,"name":"two","count":2}' }), task, new JobAbort());
    assert.deepEqual(seen, [["one", { a: 1 }], ["two", { a: 2 }]]);
  });

  test("a step's attempts start again at 1: ctx.attempt and the retry budget are the step's own", async () => {
    const seen: number[] = [];
    const task = defineTask("t", [function one() {}, function two(_ws, ctx) {
      seen.push(ctx.attempt);
      throw new Error("flaky");
    }], { retry: { attempts: 2 } });
    // The job used 3 attempts before step two began (base 3); this is its 4th, step two's 1st.
    const at = (attempt: number) =>
      claimed({}, { attempt, claim: { attempt, startedAt: 0 }, step: '{"index":1,"name":"two","count":2,"base":3}' });
    assert.equal((await executeJob(at(4), task, new JobAbort())).kind, "retry");
    assert.equal((await executeJob(at(5), task, new JobAbort())).kind, "failed");
    assert.deepEqual(seen, [1, 2]);
  });
});
