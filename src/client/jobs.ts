/**
 * Turning the client's `enqueue(name, payload, options)` into a row, through
 * the core's own buildJob: the same checks, in the same order, with the same
 * EnqueueErrors as `stint.enqueue` by name.
 *
 * The edge has no task definitions, so a job enqueued here gets none of a
 * task's enqueue-time defaults: its queue is "default" and its priority 0
 * unless the options say otherwise, and it has a concurrency limit only when
 * the options give one (a task's `concurrency` is turned into a key when the
 * job is enqueued and stored on the row; the worker never adds one later).
 * What the worker takes from the task when the job runs (retry, timeout) still
 * applies, by the stored task name.
 */
import { type ConcurrencyOptions, concurrencyPolicy, DEFAULT_CONCURRENCY_DURATION_MS } from "../concurrency.ts";
import { buildJob, type EnqueueOptions } from "../enqueue.ts";
import { EnqueueError } from "../errors.ts";
import type { NewJob } from "../records.ts";
import { isTask, type Task } from "../task.ts";

export interface ClientEnqueueOptions<P = unknown> extends EnqueueOptions {
  /**
   * The concurrency policy a task would give the job: `key` a template over
   * payload fields ("account:{accountId}") or a function of the payload.
   */
  concurrency?: ConcurrencyOptions<P>;
}

export interface ClientEnqueueItem<P = unknown> {
  /** The task's name, as the workers define it. */
  task: string;
  payload?: P;
  options?: Omit<ClientEnqueueOptions<P>, "tx">;
}

const OPTION_KEYS = ["queue", "priority", "runAt", "delay", "concurrency", "tx", "key", "onDuplicate"];

/** No task is known here: buildJob then takes any well-formed name, as stint.enqueue does without `tasks`. */
const NO_TASKS = new Map<string, Task>();

export function buildClientJob(
  name: unknown,
  payload: unknown,
  options: unknown,
  now: number,
  where = "",
  concurrencyDurationMs = DEFAULT_CONCURRENCY_DURATION_MS,
): NewJob {
  if (isTask(name)) {
    throw new EnqueueError(
      `${where}the client enqueues by task name: pass ${JSON.stringify(name.name)}, with the queue, priority and concurrency ` +
        "the task would give in the options",
    );
  }
  const opts = options ?? {};
  if (opts === null || typeof opts !== "object") throw new EnqueueError(`${where}options must be an object`);
  for (const key of Object.keys(opts)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new EnqueueError(`${where}unknown enqueue option ${JSON.stringify(key)} (known: ${OPTION_KEYS.join(", ")})`);
    }
  }
  const { concurrency, ...rest } = opts as ClientEnqueueOptions;
  const job = buildJob(name as string, payload, rest, NO_TASKS, now, where, concurrencyDurationMs);
  if (concurrency !== undefined) {
    job.concurrency = concurrencyPolicy(
      concurrency as ConcurrencyOptions<unknown>,
      payload === undefined ? null : payload,
      concurrencyDurationMs,
      `${where}${job.task}: concurrency`,
    );
  }
  return job;
}

/** enqueueAll's items, each checked as enqueue would; any bad one throws before anything is written. */
export function buildClientJobs(items: unknown, now: number, concurrencyDurationMs: number): NewJob[] {
  if (!Array.isArray(items)) throw new EnqueueError("enqueueAll takes an array of { task, payload, options }");
  return items.map((item: ClientEnqueueItem, i) => {
    if (item === null || typeof item !== "object") throw new EnqueueError(`items[${i}]: must be { task, payload, options }`);
    if (typeof item.options === "object" && item.options !== null && "tx" in item.options) throw new EnqueueError(`items[${i}]: tx is not supported in enqueueAll`);
    return buildClientJob(item.task, item.payload, item.options, now, `items[${i}]: `, concurrencyDurationMs);
  });
}
