/**
 * Runs one claimed job and decides its outcome. In async mode the handler runs
 * in this event loop; in worker mode `run` hands the job to a Web Worker
 * isolate (see isolate-pool.ts) and this function still owns the timeout and
 * the decision, on the main thread.
 *
 * The handler's promise races the job's abort: timeout, cancel and shutdown
 * abort it with a reason, and the outcome follows the reason even if the
 * handler never settles (its late result is ignored). The handler is called
 * synchronously, so a synchronous one costs no promise round of its own.
 */
import type { ClaimedJob, Outcome } from "../driver.ts";
import { errorInfo, JobCancelledError, JobTimeoutError, ResultError, UnknownTaskError } from "../errors.ts";
import { jsonProblem } from "../json.ts";
import { backoffDelay } from "../retry.ts";
import type { AnyTask, Task, TaskContext } from "../task.ts";
import { type LongTimer, longTimeout } from "../timers.ts";

/** The abort reason used when a stop runs out of time: the job goes back to ready. */
export class ShutdownSignal extends Error {
  constructor() {
    super("the runtime is shutting down");
    this.name = "ShutdownSignal";
  }
}

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

export async function executeJob(
  job: ClaimedJob,
  task: AnyTask | undefined,
  abort: JobAbort,
  run?: (payload: unknown, ctx: TaskContext) => Promise<unknown>,
  now: () => number = Date.now,
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
    const payload = JSON.parse(job.payload);
    // A synchronous handler's value is taken as it is; a promise races the abort.
    let value = run ? run(payload, ctx) : task.handler(payload, ctx);
    if (isThenable(value)) value = await abort.race(value);
    if (abort.aborted) throw abort.reason;
    const result = value === undefined ? null : value;
    const problem = jsonProblem(result, "return value");
    if (problem) throw new ResultError(`${job.task}: ${problem}`);
    return { id: job.id, kind: "succeeded", returnValue: JSON.stringify(result) };
  } catch (error) {
    // An abort decides the outcome whatever the handler threw in answer to it.
    const reason = abort.aborted ? abort.reason : error;
    if (reason instanceof ShutdownSignal) return { id: job.id, kind: "released" };
    if (reason instanceof JobCancelledError) return { id: job.id, kind: "cancelled", error: errorInfo(reason) };
    return failure(job, task, reason, now);
  } finally {
    timer?.clear();
  }
}

/** A failure is retried while the task's attempts last, else final. */
export function failure(job: ClaimedJob, task: Task | undefined, error: unknown, now: () => number): Outcome {
  const info = errorInfo(error);
  const retry = task?.retry;
  if (retry && job.attempt < retry.attempts) {
    return { id: job.id, kind: "retry", error: info, retryAt: new Date(now() + backoffDelay(retry.backoff, job.attempt)) };
  }
  return { id: job.id, kind: "failed", error: info };
}
