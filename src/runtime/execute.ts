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
 * Every path ends in an outcome: a thrown value that defeats every reading
 * (a Proxy whose traps throw) fails the job like any other error. A job with
 * no outcome would stay claimed, be released by reconciliation, and run again
 * without its attempts ever counting.
 */
import type { ClaimedJob, Outcome } from "../records.ts";
import {
  JobCancelledError,
  JobTimeoutError,
  NotStartedSignal,
  safeErrorInfo,
  ShutdownSignal,
  UnknownTaskError,
} from "../errors.ts";
import { resultJson } from "../json.ts";
import { backoffDelay } from "../retry.ts";
import type { AnyTask, Task, TaskContext } from "../task.ts";
import { type LongTimer, longTimeout } from "../timers.ts";

/**
 * The abort side of one running job. Its AbortSignal is made only when the
 * handler (or the isolate pool) asks for `ctx.signal`: most handlers never
 * read it, and a controller plus a listener per job was a tenth of a no-op
 * drain's CPU time. Aborting still decides the outcome either way.
 */
export class JobAbort {
  #controller: AbortController | null = null;
  #reject: ((reason: unknown) => void) | null = null;
  aborted = false;
  reason: unknown = undefined;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#controller?.abort(reason);
    this.#reject?.(reason);
  }

  /** `value` settled, or a rejection with the reason as soon as the job is aborted. */
  race<T>(value: PromiseLike<T>): Promise<T> {
    if (this.aborted) return Promise.reject(this.reason);
    return new Promise<T>((resolve, reject) => {
      this.#reject = reject;
      value.then(resolve, reject);
    });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}

/** `value instanceof type`, false when asking throws (a Proxy's getPrototypeOf trap). */
function isA(value: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** Async mode: the handler runs in this event loop. */
export async function executeJob(
  job: ClaimedJob,
  task: AnyTask | undefined,
  abort: JobAbort,
  now: () => number = Date.now,
): Promise<Outcome> {
  try {
    return await decide(job, task, abort, null, now);
  } catch (error) {
    return failure(job, task, error, now);
  }
}

/**
 * Hands one job to an isolate: resolves with the JSON text of the handler's
 * result, rejects with its error (NotStartedSignal when the isolate never
 * started it), and settles only once the isolate is done with the job.
 */
export type IsolateRun = (job: ClaimedJob, signal: AbortSignal) => Promise<string>;

/** Worker mode: `run` runs the handler in an isolate; the timeout and the outcome stay here. */
export async function executeInIsolate(
  job: ClaimedJob,
  task: AnyTask | undefined,
  abort: JobAbort,
  run: IsolateRun,
  now: () => number = Date.now,
): Promise<Outcome> {
  /** The isolate's answer, which settles once the isolate is done with the job. */
  let ran: Promise<string> | undefined;
  const handOver = (ctx: TaskContext) => (ran = run(job, ctx.signal));
  let outcome: Outcome;
  try {
    outcome = await decide(job, task, abort, handOver, now);
  } catch (error) {
    outcome = failure(job, task, error, now);
  }
  if (ran === undefined) return outcome;
  const late = await ran.then(() => null, (error: unknown) => error);
  // Never started (even if aborted meanwhile): back to ready, unless it was cancelled.
  if (late instanceof NotStartedSignal && outcome.kind !== "cancelled") return { id: job.id, kind: "released" };
  return outcome;
}

/** `isolate`: worker mode, the hand-over to the isolate; null in async mode. */
async function decide(
  job: ClaimedJob,
  task: AnyTask | undefined,
  abort: JobAbort,
  isolate: ((ctx: TaskContext) => Promise<string>) | null,
  now: () => number,
): Promise<Outcome> {
  if (!task) return failure(job, undefined, new UnknownTaskError(job.task), now);
  let timer: LongTimer | undefined;
  if (task.timeoutMs !== null) {
    const ms = task.timeoutMs;
    // A plain setTimeout would fire at once for a timeout above 24.8 days.
    timer = longTimeout(() => abort.abort(new JobTimeoutError(ms)), ms);
  }
  try {
    const ctx: TaskContext = {
      get signal() {
        return abort.signal;
      },
      jobId: job.id,
      attempt: job.attempt,
      task: job.task,
      queue: job.queue,
    };
    if (isolate) {
      // The isolate parsed the payload and checked the result (isolate.ts): its JSON text is stored as it is.
      const json = await abort.race(isolate(ctx));
      if (abort.aborted) throw abort.reason;
      return { id: job.id, kind: "succeeded", returnValue: json };
    }
    // A synchronous handler's value is taken as it is; a promise races the abort.
    let value = task.handler(JSON.parse(job.payload), ctx);
    if (isThenable(value)) value = await abort.race(value);
    if (abort.aborted) throw abort.reason;
    return { id: job.id, kind: "succeeded", returnValue: resultJson(job.task, value) };
  } catch (error) {
    // An abort decides the outcome whatever the handler threw in answer to it.
    const reason = abort.aborted ? abort.reason : error;
    if (isA(reason, ShutdownSignal) || isA(reason, NotStartedSignal)) return { id: job.id, kind: "released" };
    if (isA(reason, JobCancelledError)) return { id: job.id, kind: "cancelled", error: safeErrorInfo(reason) };
    return failure(job, task, reason, now);
  } finally {
    timer?.clear();
  }
}

/** A failure is retried while the task's attempts last, else final. */
export function failure(job: ClaimedJob, task: Task | undefined, error: unknown, now: () => number): Outcome {
  const info = safeErrorInfo(error);
  const retry = task?.retry;
  if (retry && job.attempt < retry.attempts) {
    return { id: job.id, kind: "retry", error: info, retryAt: new Date(now() + backoffDelay(retry.backoff, job.attempt)) };
  }
  return { id: job.id, kind: "failed", error: info };
}
