/**
 * The execution seam (src/runtime/executor.ts) with a real Web Worker isolate:
 * in worker mode JSON crosses the isolate boundary as text, once each way, and
 * the main thread parses neither the payload nor the result; a result that is
 * not JSON fails its job with the same ResultError in both modes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ClaimedJob, Outcome } from "../../src/records.ts";
import { collectTasks } from "../../src/task.ts";
import type { RuntimeContext } from "../../src/runtime/context.ts";
import { JobAbort } from "../../src/runtime/execute.ts";
import { type Executor, inlineExecutor, isolateExecutor } from "../../src/runtime/executor.ts";
import { detectPlatform } from "../../adapters/mod.ts";

const TASKS_URL = new URL("../fixtures/tasks-json.ts", import.meta.url).href;

function claimed(task: string, payload: string): ClaimedJob {
  return {
    id: "0190a000-0000-7000-8000-000000000002",
    task,
    queue: "default",
    priority: 0,
    payload,
    attempt: 1,
    enqueuedAt: new Date(0),
    claim: { attempt: 1, startedAt: 0 },
  };
}

/** A started isolate executor (one isolate) over the fixture tasks; stopped after `fn`. */
async function withIsolates(fn: (executor: Executor) => Promise<void>): Promise<void> {
  const tasks = collectTasks(await import(TASKS_URL));
  const errors: unknown[] = [];
  // Only what the isolate executor reads (the platform: Node starts its isolates through it).
  const ctx = {
    platform: await detectPlatform(),
    tasks,
    tasksUrl: TASKS_URL,
    config: { isolateWatchdogTimeoutMs: 30_000, isolateAbortGraceMs: 1000 },
    hooks: { emit: () => Promise.resolve() },
    reportError: (error: unknown) => void errors.push(error),
  } as unknown as RuntimeContext;
  const executor = isolateExecutor(ctx, { name: "executor-test", processId: crypto.randomUUID(), isolates: 1 });
  await executor.start();
  try {
    await fn(executor);
  } finally {
    await executor.stop(0);
  }
  assert.deepEqual(errors, [], "no isolate went");
}

describe("the isolate executor", () => {
  test("the main thread parses neither the payload's text nor the result's: the isolate does, once each", () =>
    withIsolates(async (executor) => {
      const payload = '{"n":21}';
      const parsed: string[] = [];
      const parse = JSON.parse;
      JSON.parse = (text: string, reviver?: (key: string, value: unknown) => unknown) => {
        parsed.push(text);
        return parse(text, reviver);
      };
      let outcome: Outcome;
      try {
        outcome = await executor.run(claimed("double", payload), new JobAbort());
      } finally {
        JSON.parse = parse;
      }
      assert.deepEqual(outcome, { id: claimed("double", payload).id, kind: "succeeded", returnValue: '{"double":42}' });
      assert.ok(!parsed.includes(payload), "the payload was parsed on the main thread");
      assert.ok(!parsed.includes('{"double":42}'), "the result was parsed on the main thread");
    }));

  test("a result that is not JSON fails the job with the same ResultError as inline", () =>
    withIsolates(async (executor) => {
      const tasks = collectTasks(await import(TASKS_URL));
      const inline = inlineExecutor({ tasks } as RuntimeContext, { name: "inline", processId: "p" });
      const errors: Array<{ name: string; message: string }> = [];
      for (const each of [inline, executor]) {
        const outcome = await each.run(claimed("returns_map", "null"), new JobAbort());
        assert.equal(outcome.kind, "failed");
        if (outcome.kind === "failed") errors.push({ name: outcome.error.name, message: outcome.error.message });
      }
      assert.equal(errors[0].name, "ResultError");
      assert.match(errors[0].message, /^returns_map: return value is a Map/);
      assert.deepEqual(errors[1], errors[0]);
    }));
});
