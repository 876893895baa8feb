/**
 * One attempt of a job with steps or hooks (DESIGN §10), on the thread that
 * runs handlers (the worker's in async mode, the isolate's in worker mode):
 *
 *   before ─▶ the step at the job's position (or the handler) ─▶ onFailure, if it failed ─▶ after
 *
 * A multi-step job runs one step per attempt: when a step returns and more
 * follow, the attempt answers `advance` with the workspace and the next
 * position, and the job goes back to ready for the next step (which may run on
 * another worker). The last step's value is the job's result.
 *
 * `before` failing fails the attempt like the handler would. `after` runs
 * whatever happened; what it (or onFailure) throws is only reported (`hookErrors`).
 * The handler and `before` race the job's abort; `onFailure` and `after` run
 * after it and are not cut short here (in async mode the outcome has been
 * decided by then anyway; in worker mode the isolate's grace applies).
 */
import { ResultError, StepError } from "../errors.ts";

/** A handler (or step) that returned before its durable calls settled: what they do would race the outcome. */
export const NOT_AWAITED =
  "the handler returned while a ctx.step, sleep, spawn or join call was still pending: await each one";
import { jsonProblem, resultJson } from "../json.ts";
import type { AnyTask } from "../task.ts";
import type { FailureContext, HookJob, StepPosition } from "../task-context.ts";
import { isThenable, type JobAbort } from "./abort.ts";
import type { JobContext } from "./durable.ts";
import { position, stepAttempt } from "./position.ts";

export type BodyResult =
  & (
    | { kind: "ok"; json: string; workspace?: string }
    | { kind: "advance"; workspace: string; step: string }
    /** The handler (or `before`) threw, or the job was aborted (then `error` is the abort's reason). */
    | { kind: "thrown"; error: unknown }
  )
  & { hookErrors?: unknown[] };

/**
 * Reasons that end an attempt without it failing: onFailure does not run for
 * them. By name, since an isolate makes its own copies of the abort reasons.
 */
const NOT_FAILURES = new Set(["SuspendSignal", "ShutdownSignal", "NotStartedSignal", "JobCancelledError"]);
function notAFailure(reason: unknown): boolean {
  try {
    return reason instanceof Error && NOT_FAILURES.has(reason.name);
  } catch {
    return false;
  }
}

/** Whether a failure of this attempt (of its step, for a multi-step job) is retried. */
export function willRetry(task: AnyTask, attempt: number): boolean {
  return task.retry !== null && attempt < task.retry.attempts;
}

export async function runBody(task: AnyTask, ctx: JobContext, abort: JobAbort): Promise<BodyResult> {
  const job = ctx.job;
  const hooks = task.hooks;
  const steps = task.steps;
  let at: StepPosition | null = position(job.step);
  if (steps && !at) at = { index: 0, name: steps[0].name, count: steps.length };
  const attempt = stepAttempt(job);
  const input = JSON.parse(steps ? job.workspace ?? job.payload : job.payload);
  const hookJob: HookJob = {
    id: job.id,
    task: job.task,
    queue: job.queue,
    attempt,
    payload: input,
    parentId: job.parentId ?? null,
    step: at,
  };
  let result: BodyResult;
  try {
    if (hooks?.before) await settle(hooks.before(hookJob, ctx), abort);
    if (steps) {
      const index = at!.index;
      if (index >= steps.length || steps[index].name !== at!.name) {
        throw new ResultError(
          `${job.task}: the job is at step ${index + 1} (${at!.name}) of ${at!.count}, which the task no longer has`,
        );
      }
      const value = await settle(steps[index].fn(input, ctx), abort);
      if (ctx.pending > 0) throw new StepError(NOT_AWAITED);
      const workspace = workspaceJson(job.task, input);
      if (index + 1 < steps.length) {
        // `base`: the next step's attempts start after this one's (position.ts).
        const next = { index: index + 1, name: steps[index + 1].name, count: steps.length, base: job.attempt };
        result = { kind: "advance", workspace, step: JSON.stringify(next) };
      } else {
        result = { kind: "ok", json: resultJson(job.task, value), workspace };
      }
    } else {
      const value = await settle(task.handler!(input, ctx), abort);
      if (ctx.pending > 0) throw new StepError(NOT_AWAITED);
      result = { kind: "ok", json: resultJson(job.task, value) };
    }
  } catch (error) {
    const reason = abort.aborted ? abort.reason : error;
    result = { kind: "thrown", error: reason };
    if (hooks?.onFailure && !notAFailure(reason)) {
      ctx.willRetry = willRetry(task, attempt);
      try {
        await hooks.onFailure(hookJob, reason, ctx as FailureContext);
      } catch (hookError) {
        (result.hookErrors ??= []).push(hookError);
      }
    }
  }
  if (hooks?.after) {
    try {
      await hooks.after(hookJob, ctx);
    } catch (hookError) {
      (result.hookErrors ??= []).push(hookError);
    }
  }
  return result;
}

/** A value settled; a promise raced against the job's abort. */
function settle<T>(value: T | PromiseLike<T>, abort: JobAbort): T | Promise<T> {
  if (isThenable(value)) return abort.race(value) as Promise<T>;
  if (abort.aborted) throw abort.reason;
  return value as T;
}

/** The workspace as JSON text; it must still be a JSON object after the step. */
function workspaceJson(task: string, workspace: unknown): string {
  if (workspace === null || typeof workspace !== "object" || Array.isArray(workspace)) {
    throw new ResultError(`${task}: the workspace must stay a JSON object`);
  }
  const problem = jsonProblem(workspace, "workspace");
  if (problem) throw new ResultError(`${task}: ${problem}`);
  return JSON.stringify(workspace);
}
