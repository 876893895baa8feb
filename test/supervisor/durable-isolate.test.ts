/**
 * Worker mode runs multi-step tasks, durable steps, sleeps, child jobs and
 * hooks inside real isolates (Web Workers; worker threads on Node), which open
 * no connection of their own: every durable call is a question to the main
 * thread (DESIGN §10). What happens inside an isolate is read from the files
 * its tasks write (test/fixtures/tasks-durable.ts).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobResult, Stint } from "../../mod.ts";
import { type RuntimeErrorRecord, withStint } from "../support/harness.ts";
import { scenarioTargets, targets } from "../support/targets.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";
import { logOf } from "../fixtures/tasks-durable.ts";

const TASKS_URL = new URL("../fixtures/tasks-durable.ts", import.meta.url);
const T = { timeout: 60_000 };
const ENDED = ["succeeded", "failed", "cancelled", "discarded"] as const;

/** A worker-mode runtime (2 isolates) on the target, and a scratch directory for the tasks' logs. */
function inWorkerMode(
  target: (typeof targets)[number],
  fn: (stint: Stint, dir: string, runtimeErrors: RuntimeErrorRecord[]) => Promise<void>,
  { allowRuntimeErrors = false } = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "stint-durable-"));
  const options = {
    tasks: TASKS_URL,
    isolateWatchdogTimeout: "10s",
    isolateAbortGrace: "3s",
    workers: [{ isolates: 2, concurrency: 4, pollingInterval: "50ms" }],
    dispatchers: [{ pollingInterval: "50ms" }],
    shutdownTimeout: "1s",
    allowRuntimeErrors,
  };
  return withStint(target, options, async (stint, runtimeErrors) => {
    await stint.start({ mode: "worker" });
    await fn(stint, dir, runtimeErrors);
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function ended(stint: Stint, id: string, timeout = 20_000): Promise<JobResult> {
  return waitForStatus(stint, id, [...ENDED], timeout);
}

for (const target of scenarioTargets(targets)) {
  describe(`worker mode on ${target.name}: durable calls and hooks inside isolates`, { skip: target.skip }, () => {
    test("a multi-step task runs one step per attempt, its workspace carried; a failed step is retried from there", T, () =>
      inWorkerMode(target, async (stint, dir) => {
        const { id } = await stint.enqueue("three_steps", { dir, failTwo: 1 });
        const r = await ended(stint, id);
        assert.equal(r.status, "succeeded", JSON.stringify(r.error));
        assert.deepEqual(r.returnValue, { trail: ["one", "two", "three"] });
        assert.deepEqual(r.errors.map((e) => [e.name, e.message]), [["Error", "two failed"]]);
        // One step per attempt (before and after bracket each), step two retried with step one's workspace.
        assert.deepEqual(logOf(dir, id), [
          "before one 1",
          "step one 1",
          "after one 1",
          "before two 1",
          'step two 1 ["one"]',
          "onFailure two 1 true Error",
          "after two 1",
          "before two 2",
          'step two 2 ["one"]',
          "after two 2",
          "before three 1",
          'step three 1 ["one","two"]',
          "after three 1",
        ]);
      }));

    test("ctx.step is memoized across a retry: its fn runs once", T, () =>
      inWorkerMode(target, async (stint, dir) => {
        const { id } = await stint.enqueue("memo", { dir });
        const r = await ended(stint, id);
        assert.equal(r.status, "succeeded", JSON.stringify(r.error));
        assert.deepEqual(r.returnValue, { n: 42, attempt: 1 });
        assert.equal(r.attempts, 2);
        assert.deepEqual(logOf(dir, id), ["fn 1", "handler 1", "handler 2"]);
      }));

    test("a name used twice in one run fails the attempt with StepError", T, () =>
      inWorkerMode(target, async (stint) => {
        const { id } = await stint.enqueue("step_twice", null);
        const r = await ended(stint, id);
        assert.equal(r.status, "failed");
        assert.equal(r.error?.name, "StepError");
        assert.match(r.error!.message, /"same" is used twice/);
      }));

    test("ctx.sleep suspends the job (scheduled, not failed) and it runs again from the top when due", T, () =>
      inWorkerMode(target, async (stint, dir) => {
        const { id } = await stint.enqueue("sleeper", { dir, ms: 2000 });
        await waitForStatus(stint, id, "scheduled", 10_000);
        assert.deepEqual(logOf(dir, id), ["run 1", "fn"]);
        const r = await ended(stint, id);
        assert.equal(r.status, "succeeded", JSON.stringify(r.error));
        assert.deepEqual(r.returnValue, { slept: true });
        assert.deepEqual(r.errors, []);
        const lines = logOf(dir, id);
        assert.equal(lines.length, 4, lines.join(" | "));
        assert.deepEqual(lines.slice(0, 2), ["run 1", "fn"]);
        assert.match(lines[2], /^run \d+$/);
        assert.equal(lines[3], "woke");
      }));

    test("ctx.spawn and ctx.join: the children run, the parent waits, then reads their results", T, () =>
      inWorkerMode(target, async (stint, dir) => {
        const { id } = await stint.enqueue("parent", { dir });
        await waitForStatus(stint, id, "waiting", 10_000);
        await waitFor("the children to start", () => [1, 2, 3].every((n) => logOf(dir, `child-${n}`).length > 0), {
          timeout: 10_000,
        });
        assert.equal((await stint.getResult(id)).status, "waiting");
        writeFileSync(`${dir}/release`, "");
        const r = await ended(stint, id);
        assert.equal(r.status, "succeeded", JSON.stringify(r.error));
        const value = r.returnValue as {
          refused: Array<{ name: string; typed: boolean; message: string }>;
          kids: string[];
          results: Array<[string, string, unknown, string | null]>;
          dates: boolean;
        };
        // The refused spawns' EnqueueErrors (the first from the main thread) with their class, name and message.
        assert.deepEqual(value.refused.map((e) => [e.name, e.typed]), [["EnqueueError", true], ["EnqueueError", true]]);
        assert.match(value.refused[0].message, /^spawn "bad": unknown option "bogus"/);
        assert.match(value.refused[1].message, /^spawn "odd": child: payload is a Map/);
        assert.deepEqual(value.results, [
          [value.kids[0], "succeeded", 2, null],
          [value.kids[1], "succeeded", 4, null],
          [value.kids[2], "failed", null, "Error"],
        ]);
        assert.equal(value.dates, true, "the results' Dates crossed as Dates");
        // The parent ran twice (spawn and suspend, then the join); each child was spawned once, with its parent.
        const runs = logOf(dir, id);
        assert.equal(runs.filter((l) => l.startsWith("run ")).length, 2, runs.join(" | "));
        assert.equal(runs.at(-1), "joined");
        for (const [i, n] of [1, 2, 3].entries()) {
          assert.deepEqual(logOf(dir, `child-${n}`), [`run ${value.kids[i]} ${id}`]);
        }
      }));

    test("hooks run inside the isolate: before, onFailure knowing willRetry, after; after's error is only reported", T, () =>
      inWorkerMode(target, async (stint, dir, runtimeErrors) => {
        const retried = await stint.enqueue("hooked", { dir, fail: 1 });
        const failed = await stint.enqueue("hooked", { dir, fail: 2, afterThrows: true });
        const r = await ended(stint, retried.id);
        assert.equal(r.status, "succeeded", JSON.stringify(r.error));
        assert.deepEqual(r.returnValue, { attempt: 2 });
        assert.deepEqual(logOf(dir, retried.id), [
          "before 1",
          "handler 1",
          "onFailure 1 true Error",
          "after 1",
          "before 2",
          "handler 2",
          "after 2",
        ]);
        const f = await ended(stint, failed.id);
        assert.equal(f.status, "failed");
        assert.equal(f.error?.message, "boom", "after's error never fails the job");
        assert.deepEqual(logOf(dir, failed.id), [
          "before 1",
          "handler 1",
          "onFailure 1 true Error",
          "after 1",
          "before 2",
          "handler 2",
          "onFailure 2 false Error",
          "after 2",
        ]);
        await waitFor("both hook errors to be reported", () => runtimeErrors.length >= 2, { timeout: 5000 });
        assert.deepEqual(
          runtimeErrors.map(({ error, context }) => [context.operation, context.jobId, (error as Error).message]),
          [1, 2].map(() => ["task hook", failed.id, `after failed for ${failed.id}`]),
        );
      }, { allowRuntimeErrors: true }));

    test("a timeout reaches a hooked job: onFailure and after run in the isolate before the outcome is written", T, () =>
      inWorkerMode(target, async (stint, dir) => {
        const { id } = await stint.enqueue("hooked_timeout", { dir, fail: 0 });
        let r: JobResult | null = null;
        let claimed = false;
        await waitFor("the job to leave running", async () => {
          r = await stint.getResult(id);
          claimed ||= r.status === "running";
          if (!claimed || r.status === "running") return false;
          // Read after the status: had the outcome come first, the log could still lack these.
          const lines = logOf(dir, id);
          assert.ok(lines.includes("after 1") && lines.includes("handler ended"), `${r.status} before: ${lines}`);
          return true;
        }, { timeout: 15_000 });
        assert.equal(r!.status, "failed");
        assert.equal(r!.error?.name, "JobTimeoutError");
        assert.ok(logOf(dir, id).includes("onFailure 1 false JobTimeoutError"), logOf(dir, id).join(" | "));
      }));
  });
}
