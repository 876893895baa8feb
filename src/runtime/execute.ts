/**
 * Runs one claimed job and decides its outcome. In async mode (executeJob) the
 * handler runs in this event loop; in worker mode (executeInIsolate) `run`
 * hands the job to a Web Worker isolate (see isolate-pool.ts) and this module
 * still owns the timeout and the decision, on the main thread. Which of the
 * two a worker uses is chosen once, by its Executor (executor.ts).
 *
 * In worker mode JSON crosses the isolate boundary as text, once each way: the
 * payload's text goes to the isolate, which parses it, runs the handler, checks
 * the result (resultJson, as here) and answers with its JSON text, which is
 * stored as it is. Nothing is parsed or stringified on the main thread.
 *
 * The handler's promise races the job's abort: timeout, cancel and shutdown
 * abort it with a reason, and the outcome follows the reason even if the
 * handler never settles (its late result is ignored). The handler is called
 * synchronously, so a synchronous one costs no promise round of its own.
 *
 * In worker mode the outcome is returned only once the isolate is done with
 * the job: its handler settled, or the isolate was terminated. Written any
 * earlier, a released or failed job could be claimed and started elsewhere
 * while its handler still ran here for up to isolateAbortGrace. A job the
 * isolate never started goes back to ready.
 *
 * A task with steps or hooks runs its attempt through body.ts (before, the
 * step or handler, onFailure, after); the others keep the direct call. Either
 * way the handler's ctx is a JobContext (durable.ts), whose ctx.sleep and
 * ctx.join end the attempt by aborting it with a SuspendSignal, decided here
 * like any abort: a `sleep` or `wait` outcome, not a failure.
 *
 * An at-most-once job (ClaimedJob.delivery, stored with the job so that a
 * process without its task decides alike) never starts again once started:
 * a stop that interrupts it fails it with JobInterruptedError instead of
 * releasing it, and what ends its attempt from outside the handler (its
 * process or isolate gone, pruned or missing, its timeout) fails it whatever
 * `retry` says. Errors its handler throws still retry (DESIGN §11).
 *
 * A transactional task (async mode only) runs its attempt through
 * transactional.ts: the attempt and its outcome's write share one transaction
 * of the queue's database, and the outcome comes back `committed`.
 *
 * Every path ends in an outcome: a thrown value that defeats every reading
 * (a Proxy whose traps throw) fails the job like any other error. A job with
 * no outcome would stay claimed, be released by reconciliation, and run again
 * without its attempts ever counting.
 */
import type { ClaimedJob, Outcome } from "../records.ts";
import {
  JobCancelledError,
  JobInterruptedError,
  JobTimeoutError,
  NotStartedSignal,
  ProcessExitError,
  ProcessMissingError,
  ProcessPrunedError,
  safeErrorInfo,
  ShutdownSignal,
  StepError,
  SuspendSignal,
  TransactionError,
  UnknownTaskError,
} from "../errors.ts";
import { resultJson } from "../json.ts";
import { backoffDelay, type BackoffPolicy } from "../retry.ts";
import type { AnyTask, Task } from "../task.ts";
import { type LongTimer, longTimeout } from "../timers.ts";
import { isThenable, JobAbort } from "./abort.ts";
import { type BodyResult, NOT_AWAITED, runBody } from "./body.ts";
import { JobContext, type JobServices, type Transact } from "./durable.ts";
import { stepAttempt } from "./position.ts";

export { JobAbort };

/** Where a job's hooks report what they threw (onRuntimeError). */
export type HookReport = (error: unknown, job: ClaimedJob) => void;

/** `value instanceof type`, false when asking throws (a Proxy's getPrototypeOf trap). */
function isA(value: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** Async mode: the handler runs in this event loop; `services` serve its durable calls. */
export async function executeJob(
  job: ClaimedJob,
  task: AnyTask | undefined,
  abort: JobAbort,
  services: JobServices = NO_SERVICES,
  report: HookReport = () => {},
  now: () => number = Date.now,
): Promise<Outcome> {
  let outcome: Outcome;
  const ctx = new JobContext(job, abort, services, now);
  try {
    outcome = await decide(job, task, abort, null, ctx, report, now, services.transact ?? null);
  } catch (error) {
    outcome = failure(job, task, error, now);
  }
  ctx.close();
  // Before the outcome removes the claim that guards a progress write (a job that never called it waits for nothing).
  const progress = ctx.flushProgress();
  if (progress) await progress;
  if (ctx.stored) outcome.stored = true;
  return withParent(job, outcome);
}

/** For a job run with no queue behind it (unit tests): a durable call fails the attempt. */
const unavailable = () => Promise.reject(new Error("no queue services: durable calls need a worker"));
const NO_SERVICES: JobServices = {
  stepList: unavailable,
  stepSave: unavailable,
  spawn: unavailable,
  results: unavailable,
  progress: () => Promise.resolve(false),
};

/** What an isolate answers for a job that did not throw: its result, or (multi-step) the next step. */
export type IsolateDone = Extract<BodyResult, { kind: "ok" | "advance" }>;

/**
 * Hands one job to an isolate: resolves with what the job's attempt came to,
 * rejects with its error (NotStartedSignal when the isolate never started it,
 * a SuspendSignal when it slept or joined), and settles only once the isolate
 * is done with the job.
 */
export type IsolateRun = (job: ClaimedJob, signal: AbortSignal) => Promise<IsolateDone>;

/** Worker mode: `run` runs the handler in an isolate; the timeout and the outcome stay here. */
export async function executeInIsolate(
  job: ClaimedJob,
  task: AnyTask | undefined,
  abort: JobAbort,
  run: IsolateRun,
  now: () => number = Date.now,
): Promise<Outcome> {
  /** The isolate's answer, which settles once the isolate is done with the job. */
  let ran: Promise<IsolateDone> | undefined;
  const handOver = () => (ran = run(job, abort.signal));
  let outcome: Outcome;
  try {
    outcome = await decide(job, task, abort, handOver, null, () => {}, now);
  } catch (error) {
    outcome = failure(job, task, error, now);
  }
  if (ran !== undefined) {
    const late = await ran.then(() => null, (error: unknown) => error);
    // Never started (even if aborted meanwhile): back to ready, unless it was cancelled.
    if (late instanceof NotStartedSignal && outcome.kind !== "cancelled") outcome = { id: job.id, kind: "released" };
  }
  return withParent(job, outcome);
}

/** A child's outcome names its parent, so a dialect's fast path hands the batch to the engine (records.ts). */
function withParent(job: ClaimedJob, outcome: Outcome): Outcome {
  if (job.parentId) outcome.parentId = job.parentId;
  return outcome;
}

function outcomeOf(job: ClaimedJob, done: IsolateDone): Outcome {
  if (done.kind === "advance") return { id: job.id, kind: "advance", workspace: done.workspace, step: done.step };
  return done.workspace === undefined
    ? { id: job.id, kind: "succeeded", returnValue: done.json }
    : { id: job.id, kind: "succeeded", returnValue: done.json, workspace: done.workspace };
}

/**
 * `isolate`: worker mode, the hand-over to the isolate; null in async mode (then `ctx` is the handler's).
 * `transact`: async mode, how a transactional task's attempt runs (transactional.ts).
 */
async function decide(
  job: ClaimedJob,
  task: AnyTask | undefined,
  abort: JobAbort,
  isolate: (() => Promise<IsolateDone>) | null,
  ctx: JobContext | null,
  report: HookReport,
  now: () => number,
  transact: Transact | null = null,
): Promise<Outcome> {
  if (!task) return failure(job, undefined, new UnknownTaskError(job.task), now);
  let timer: LongTimer | undefined;
  if (task.timeoutMs !== null) {
    const ms = task.timeoutMs;
    // A plain setTimeout would fire at once for a timeout above 24.8 days.
    timer = longTimeout(() => abort.abort(new JobTimeoutError(ms)), ms);
  }
  try {
    if (isolate) {
      // The isolate parsed the payload and checked the result (isolate.ts): its JSON text is stored as it is.
      const done = await abort.race(isolate());
      if (abort.aborted) throw abort.reason;
      return outcomeOf(job, done);
    }
    if (task.transactional) {
      // Its outcome is written in the transaction (committed: true), or it rolled back and throws.
      if (!transact) throw new TransactionError(`task ${task.name} is transactional: it runs only in async mode`);
      return await transact(job, ctx!, async () => {
        if (abort.aborted) throw abort.reason; // while waiting for the transaction to begin
        return await inline(job, task, abort, ctx!, report);
      });
    }
    const ran = inline(job, task, abort, ctx!, report);
    return isThenable(ran) ? await ran : ran;
  } catch (error) {
    // An abort decides the outcome whatever the handler threw in answer to it.
    const reason = abort.aborted ? abort.reason : error;
    if (isA(reason, SuspendSignal)) {
      const { until, children } = reason as SuspendSignal;
      return until !== null ? { id: job.id, kind: "sleep", until: new Date(until) } : { id: job.id, kind: "wait", children: children! };
    }
    if (isA(reason, NotStartedSignal)) return { id: job.id, kind: "released" };
    if (isA(reason, ShutdownSignal)) {
      // Started (the handler was called, or handed to an isolate: one that never started it answers NotStartedSignal).
      if (job.delivery === "at-most-once") return failure(job, task, new JobInterruptedError(), now);
      return { id: job.id, kind: "released" };
    }
    if (isA(reason, JobCancelledError)) return { id: job.id, kind: "cancelled", error: safeErrorInfo(reason) };
    return failure(job, task, reason, now);
  } finally {
    timer?.clear();
  }
}

/** Async mode: the handler (or, with steps or hooks, the body) against the abort. */
function inline(job: ClaimedJob, task: AnyTask, abort: JobAbort, ctx: JobContext, report: HookReport): Outcome | Promise<Outcome> {
  if (task.handler && !task.hooks) {
    // A synchronous handler's value is taken as it is; a promise races the abort.
    const value = task.handler(JSON.parse(job.payload), ctx);
    const succeeded = (value: unknown): Outcome => {
      if (abort.aborted) throw abort.reason;
      if (ctx.pending > 0) throw new StepError(NOT_AWAITED);
      return { id: job.id, kind: "succeeded", returnValue: resultJson(job.task, value) };
    };
    return isThenable(value) ? abort.race(value).then(succeeded) : succeeded(value);
  }
  // Steps or hooks: the body runs its hooks even after an abort decided the outcome here.
  const body = runBody(task, ctx, abort);
  body.then((b) => b.hookErrors?.forEach((error) => report(error, job)), () => {});
  return abort.race(body).then((done) => {
    if (done.kind === "thrown") throw done.error;
    if (abort.aborted) throw abort.reason;
    return outcomeOf(job, done);
  });
}

/** How many attempts a transactional job whose process crashed gets without a `retry` of its own. */
const TRANSACTIONAL_CRASH_ATTEMPTS = 10;
const CRASH_BACKOFF: BackoffPolicy = { kind: "exponential", baseMs: 1000, maxMs: 60_000 };

/**
 * Whether `error` ended an attempt from outside its handler: its process or
 * isolate died, was pruned or went missing, a stop interrupted it, or its
 * timeout ran out (in async mode a handler deaf to its signal may even run on).
 */
export function interrupts(error: unknown): boolean {
  return [ProcessExitError, ProcessPrunedError, ProcessMissingError, JobInterruptedError, JobTimeoutError]
    .some((type) => isA(error, type));
}

/**
 * A failure is retried while the task's attempts last, else final. An
 * at-most-once job whose attempt was `interrupted` (not ended by its handler's
 * own throw) is final at once: a retry would start it again.
 */
export function failure(
  job: ClaimedJob,
  task: Task | undefined,
  error: unknown,
  now: () => number,
  interrupted: boolean = interrupts(error),
): Outcome {
  const info = safeErrorInfo(error);
  const retry = task?.retry;
  // A multi-step job's budget is per step (position.ts).
  const attempt = stepAttempt(job);
  const final = interrupted && job.delivery === "at-most-once";
  // A transactional job's crash rolled its work back: it runs again, `retry` or not (DESIGN §11), within a bound.
  const crashed = task?.transactional === true &&
    (isA(error, ProcessExitError) || isA(error, ProcessPrunedError) || isA(error, ProcessMissingError));
  const attempts = crashed ? Math.max(retry?.attempts ?? 0, TRANSACTIONAL_CRASH_ATTEMPTS) : retry?.attempts ?? 0;
  const outcome: Outcome = !final && attempt < attempts
    ? { id: job.id, kind: "retry", error: info, retryAt: new Date(now() + backoffDelay(retry?.backoff ?? CRASH_BACKOFF, attempt)) }
    : { id: job.id, kind: "failed", error: info };
  return withParent(job, outcome);
}
