/**
 * Turning `enqueue(taskOrName, payload, options)` into a row to insert. Every
 * check happens here, before the driver is called, so bad input writes nothing.
 */
import { concurrencyPolicy, DEFAULT_CONCURRENCY_DURATION_MS } from "./concurrency.ts";
import type { NewJob } from "./records.ts";
import { EnqueueError } from "./errors.ts";
import { newJobId } from "./ids.ts";
import { hasUnstorable, jsonProblem } from "./json.ts";
import { isTask, type Task } from "./task.ts";
import { describe, enqueueCheck } from "./validate.ts";

export interface EnqueueOptions {
  queue?: string;
  priority?: number;
  runAt?: Date;
  delay?: number | string;
  /** The database client's own transaction object: the job commits or rolls back with it. */
  tx?: unknown;
  /**
   * A unique key (1–255 characters, per backend): at most one job with it
   * waits to run (DESIGN §11). Not per task: prefix it with the task's name.
   */
  key?: string;
  /** When a job with the key waits (or runs): "skip" (default) or "replace" its payload, priority and run time. */
  onDuplicate?: "skip" | "replace";
}

/** The largest time a Date holds (±100,000,000 days around 1970). */
const MAX_DATE_MS = 8.64e15;

const OPTION_KEYS = new Set(["queue", "priority", "runAt", "delay", "tx", "key", "onDuplicate"]);

/** The longest unique key (the columns hold 255 characters in every dialect). */
export const MAX_KEY_LENGTH = 255;

/**
 * A key is any text of 1–255 characters the databases store as given: no
 * NUL or lone surrogate, and no surrounding spaces (MariaDB's collations
 * ignore trailing spaces, so "a" and "a " would be one key there and two elsewhere).
 */
function checkKey(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_KEY_LENGTH || value.trim() !== value) {
    throw new EnqueueError(
      `${what} must be a non-empty string of at most ${MAX_KEY_LENGTH} characters without surrounding spaces, got ${
        describe(value)
      }`,
    );
  }
  if (hasUnstorable(value)) throw new EnqueueError(`${what} must not contain a NUL character or a lone surrogate`);
  return value;
}

function checkOnDuplicate(opts: EnqueueOptions, where: string): "skip" | "replace" | undefined {
  if (opts.onDuplicate === undefined) return undefined;
  if (opts.key === undefined) throw new EnqueueError(`${where}onDuplicate needs a key`);
  if (opts.onDuplicate !== "skip" && opts.onDuplicate !== "replace") {
    throw new EnqueueError(`${where}onDuplicate must be "skip" or "replace", got ${describe(opts.onDuplicate)}`);
  }
  return opts.onDuplicate;
}

export function buildJob(
  taskOrName: Task | string,
  payload: unknown,
  options: EnqueueOptions | undefined,
  known: Map<string, Task>,
  now: number,
  where = "",
  concurrencyDurationMs = DEFAULT_CONCURRENCY_DURATION_MS,
): NewJob {
  let task: Task | undefined;
  let name: string;
  if (isTask(taskOrName)) {
    task = taskOrName;
    name = task.name;
  } else {
    name = enqueueCheck.name(taskOrName, `${where}task name`);
    task = known.get(name);
    if (!task && known.size > 0) {
      throw new EnqueueError(
        `${where}unknown task ${JSON.stringify(name)} (registered: ${[...known.keys()].sort().join(", ")})`,
      );
    }
  }
  const opts = options ?? {};
  if (opts === null || typeof opts !== "object") throw new EnqueueError(`${where}options must be an object`);
  for (const key of Object.keys(opts)) {
    if (!OPTION_KEYS.has(key)) {
      throw new EnqueueError(`${where}unknown enqueue option ${JSON.stringify(key)} (known: ${[...OPTION_KEYS].join(", ")})`);
    }
  }
  const value = payload === undefined ? null : payload;
  const problem = jsonProblem(value, "payload");
  if (problem) throw new EnqueueError(`${where}${name}: ${problem}`);
  const steps = task?.steps;
  // A multi-step task's payload is its first workspace, which its steps change in place.
  if (steps && (value === null || typeof value !== "object" || Array.isArray(value))) {
    throw new EnqueueError(`${where}${name}: a multi-step task's payload (its workspace) must be a JSON object`);
  }
  const queue = opts.queue === undefined ? task?.queue ?? "default" : enqueueCheck.name(opts.queue, `${where}queue`);
  const priority = opts.priority === undefined
    ? task?.priority ?? 0
    : enqueueCheck.priority(opts.priority, `${where}priority`);
  if (opts.runAt !== undefined && opts.delay !== undefined) {
    throw new EnqueueError(`${where}give runAt or delay, not both`);
  }
  let due = now;
  if (opts.runAt !== undefined) {
    if (!(opts.runAt instanceof Date) || Number.isNaN(opts.runAt.getTime())) {
      throw new EnqueueError(`${where}runAt must be a valid Date, got ${String(opts.runAt)}`);
    }
    due = opts.runAt.getTime();
  } else if (opts.delay !== undefined) {
    due = now + enqueueCheck.duration(opts.delay, `${where}delay`);
  }
  const key = opts.key === undefined ? null : checkKey(opts.key, `${where}key`);
  const onDuplicate = checkOnDuplicate(opts, where);
  // Past the Date range the row's time would be an Invalid Date (or NaN in SQL): refuse before any statement.
  if (!(Math.abs(due) <= MAX_DATE_MS)) {
    throw new EnqueueError(`${where}${opts.runAt !== undefined ? "runAt" : "delay"} puts the job past the latest possible date`);
  }
  return {
    id: newJobId(now),
    task: name,
    queue,
    priority,
    payload: JSON.stringify(value),
    scheduledAt: new Date(due),
    concurrency: concurrencyPolicy(task?.concurrency, value, concurrencyDurationMs, `${where}${name}: concurrency`),
    step: steps ? JSON.stringify({ index: 0, name: steps[0].name, count: steps.length }) : null,
    delivery: task?.delivery === "at-most-once" ? "at-most-once" : null,
    ...(key === null ? {} : { key, onDuplicate: onDuplicate ?? "skip" }),
  };
}
