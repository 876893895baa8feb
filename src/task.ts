import { checkConcurrency } from "./concurrency.ts";
import { describe, type Duration, parseDuration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { hasUnstorable } from "./json.ts";
import { type BackoffPolicy, parseRetry, type RetryOptions } from "./retry.ts";

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

export interface ConcurrencyOptions<P> {
  /** A template over payload fields ("account:{accountId}") or a function of the payload. */
  key: string | ((payload: P) => string);
  /** How many jobs with one key may be ready or running at once. */
  limit: number;
  duration?: Duration;
  onConflict?: "block" | "discard";
}

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

export const MAX_NAME_LENGTH = 200;

/** Why `value` cannot be a name (of a task, queue, backend, key…), or null when it can. */
export function nameProblem(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_NAME_LENGTH || value.trim() !== value) {
    return `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters without surrounding spaces`;
  }
  if (hasUnstorable(value)) return "must not contain a NUL character or a lone surrogate (half of a UTF-16 pair)";
  return null;
}

export function checkName(value: unknown, what: string, ErrorType: new (m: string) => Error): string {
  const problem = nameProblem(value);
  if (problem) throw new ErrorType(`${what} ${problem}, got ${describe(value)}`);
  return value as string;
}

export function checkPriority(value: unknown, what: string, ErrorType: new (m: string) => Error): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -100 || value > 100) {
    throw new ErrorType(`${what} must be an integer from -100 to 100, got ${describe(value)}`);
  }
  return value;
}

const TASK_OPTION_KEYS = new Set(["queue", "priority", "concurrency", "retry", "timeout"]);

/** Declares a task: a name, a handler taking one JSON payload, and its defaults. */
export function defineTask<P = unknown, R = unknown>(
  name: string,
  handler: TaskHandler<P, R>,
  options: TaskOptions<P> = {},
): Task<P, R> {
  checkName(name, "task name", ConfigError);
  if (typeof handler !== "function") throw new ConfigError(`task ${name}: handler must be a function`);
  if (options === null || typeof options !== "object") throw new ConfigError(`task ${name}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!TASK_OPTION_KEYS.has(key)) throw new ConfigError(`task ${name}: unknown option ${JSON.stringify(key)}`);
  }
  const queue = options.queue === undefined ? null : checkName(options.queue, `task ${name}: queue`, ConfigError);
  const priority = options.priority === undefined
    ? null
    : checkPriority(options.priority, `task ${name}: priority`, ConfigError);
  const timeoutMs = options.timeout === undefined ? null : parseDuration(options.timeout, `task ${name}: timeout`);
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
      : checkConcurrency<P>(options.concurrency, `task ${name}: concurrency`, ConfigError),
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
