import { checkConcurrency, type ConcurrencyOptions } from "./concurrency.ts";
import type { Duration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { type BackoffPolicy, parseRetry, type RetryOptions } from "./retry.ts";
import { configCheck } from "./validate.ts";

/** What a handler receives beside its payload. */
export interface TaskContext {
  /** Aborted on timeout, cancel() and shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  readonly jobId: string;
  /** 1 on the first run, 2 on the first retry, and so on. */
  readonly attempt: number;
  readonly task: string;
  readonly queue: string;
}

export type TaskHandler<P, R> = (payload: P, ctx: TaskContext) => R | Promise<R>;

export interface TaskOptions<P = unknown> {
  queue?: string;
  priority?: number;
  concurrency?: ConcurrencyOptions<P>;
  retry?: RetryOptions;
  timeout?: Duration;
}

export interface Task<P = unknown, R = unknown> {
  readonly kind: "stint.task";
  readonly name: string;
  readonly handler: TaskHandler<P, R>;
  readonly queue: string | null;
  readonly priority: number | null;
  readonly concurrency: ConcurrencyOptions<P> | null;
  readonly retry: { attempts: number; backoff: BackoffPolicy } | null;
  readonly timeoutMs: number | null;
}

/** Any task, whatever its payload and result types (handlers are contravariant in P). */
// deno-lint-ignore no-explicit-any
export type AnyTask = Task<any, any>;

const TASK_OPTION_KEYS = new Set(["queue", "priority", "concurrency", "retry", "timeout"]);

/** Declares a task: a name, a handler taking one JSON payload, and its defaults. */
export function defineTask<P = unknown, R = unknown>(
  name: string,
  handler: TaskHandler<P, R>,
  options: TaskOptions<P> = {},
): Task<P, R> {
  configCheck.name(name, "task name");
  if (typeof handler !== "function") throw new ConfigError(`task ${name}: handler must be a function`);
  if (options === null || typeof options !== "object") throw new ConfigError(`task ${name}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!TASK_OPTION_KEYS.has(key)) throw new ConfigError(`task ${name}: unknown option ${JSON.stringify(key)}`);
  }
  const queue = options.queue === undefined ? null : configCheck.name(options.queue, `task ${name}: queue`);
  const priority = options.priority === undefined
    ? null
    : configCheck.priority(options.priority, `task ${name}: priority`);
  const timeoutMs = options.timeout === undefined ? null : configCheck.duration(options.timeout, `task ${name}: timeout`);
  if (timeoutMs === 0) throw new ConfigError(`task ${name}: timeout must be greater than zero`);
  const retry = options.retry === undefined ? null : parseRetry(options.retry, `task ${name}: retry`);
  return Object.freeze({
    kind: "stint.task",
    name,
    handler,
    queue,
    priority,
    concurrency: options.concurrency === undefined
      ? null
      : checkConcurrency<P>(options.concurrency, `task ${name}: concurrency`, configCheck),
    retry,
    timeoutMs,
  });
}

export function isTask(value: unknown): value is Task {
  return typeof value === "object" && value !== null && (value as Task).kind === "stint.task";
}

/** Collects tasks from an array, a record, or a module namespace, refusing duplicates. */
export function collectTasks(source: unknown, what = "tasks"): Map<string, Task> {
  const tasks = new Map<string, Task>();
  const values = Array.isArray(source)
    ? source
    : source && typeof source === "object"
    ? Object.values(source as Record<string, unknown>)
    : null;
  if (values === null) throw new ConfigError(`${what} must be a module URL, an array or a record of tasks`);
  for (const value of values) {
    if (!isTask(value)) {
      if (Array.isArray(source)) throw new ConfigError(`${what} contains something that is not a task made by defineTask`);
      continue; // module namespaces may export helpers beside tasks
    }
    if (tasks.has(value.name) && tasks.get(value.name) !== value) {
      throw new ConfigError(`${what}: two tasks are named ${JSON.stringify(value.name)}`);
    }
    tasks.set(value.name, value);
  }
  return tasks;
}
