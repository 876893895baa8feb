/**
 * Runs one claimed job and decides its outcome. In async mode the handler runs
 * in this event loop; in worker mode `run` hands the job to a Web Worker
 * isolate (see isolate-pool.ts) and this function still owns the timeout and
 * the decision, on the main thread.
 *
 * The handler's promise races the job's AbortSignal: timeout, cancel and
 * shutdown abort it with a reason, and the outcome follows the reason even if
 * the handler never settles (its late result is ignored).
 */
import type { ClaimedJob, Outcome } from "../driver.ts";
import { errorInfo, JobCancelledError, JobTimeoutError, ResultError, UnknownTaskError } from "../errors.ts";
import { jsonProblem } from "../json.ts";
import { backoffDelay } from "../retry.ts";
import type { Task, TaskContext } from "../task.ts";

/** The abort reason used when a stop runs out of time: the job goes back to ready. */
export class ShutdownSignal extends Error {
  constructor() {
    super("the runtime is shutting down");
    this.name = "ShutdownSignal";
  }
}

export async function executeJob(
  job: ClaimedJob,
  task: Task | undefined,
  controller: AbortController,
  run?: (payload: unknown, ctx: TaskContext) => Promise<unknown>,
  now: () => number = Date.now,
): Promise<Outcome> {
  if (!task) return failure(job, undefined, new UnknownTaskError(job.task), now);
  const signal = controller.signal;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (task.timeoutMs !== null) {
    const ms = task.timeoutMs;
    timer = setTimeout(() => controller.abort(new JobTimeoutError(ms)), ms);
  }
  let removeAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    removeAbort = () => signal.removeEventListener("abort", onAbort);
  });
  aborted.catch(() => {});
  try {
    const ctx: TaskContext = { signal, jobId: job.id, attempt: job.attempt, task: job.task, queue: job.queue };
    const payload = JSON.parse(job.payload);
    const call = run ?? ((p: unknown, c: TaskContext) => task.handler(p, c));
    const value = await Promise.race([Promise.resolve().then(() => call(payload, ctx)), aborted]);
    if (signal.aborted) throw signal.reason;
    const result = value === undefined ? null : value;
    const problem = jsonProblem(result, "return value");
    if (problem) throw new ResultError(`${job.task}: ${problem}`);
    return { id: job.id, kind: "succeeded", returnValue: JSON.stringify(result) };
  } catch (error) {
    // An abort decides the outcome whatever the handler threw in answer to it.
    const reason = signal.aborted ? signal.reason : error;
    if (reason instanceof ShutdownSignal) return { id: job.id, kind: "released" };
    if (reason instanceof JobCancelledError) return { id: job.id, kind: "cancelled", error: errorInfo(reason) };
    return failure(job, task, reason, now);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    removeAbort();
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
