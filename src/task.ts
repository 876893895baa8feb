import { checkConcurrency, type ConcurrencyOptions } from "./concurrency.ts";
import type { Duration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { type BackoffPolicy, parseRetry, type RetryOptions } from "./retry.ts";
import type { TaskContext, TaskHooks } from "./task-context.ts";
import { configCheck, MAX_NAME_LENGTH } from "./validate.ts";

export type { TaskContext, TaskHooks } from "./task-context.ts";

export type TaskHandler<P, R> = (payload: P, ctx: TaskContext) => R | Promise<R>;

/**
 * One step of a multi-step task: it gets the job's workspace (a JSON object)
 * and may change it in place; the last step's return value is the job's.
 */
// deno-lint-ignore no-explicit-any
export type StepFunction<W = any> = (workspace: W, ctx: TaskContext) => unknown;

/** A step of a multi-step task, named after its function (`step1`, `step2`, … for anonymous ones). */
export interface TaskStep {
  readonly name: string;
  readonly fn: StepFunction;
}


export interface TaskOptions<P = unknown> {
  queue?: string;
  priority?: number;
  concurrency?: ConcurrencyOptions<P>;
  retry?: RetryOptions;
  timeout?: Duration;
  hooks?: TaskHooks<P>;
  /** "at-least-once" (default) or "at-most-once": a started attempt never starts again (DESIGN §11). */
  delivery?: "at-least-once" | "at-most-once";
  /** Run the handler in a transaction on the queue's database (ctx.tx) that also records its success (DESIGN §11). */
  transactional?: boolean;
}

export interface Task<P = unknown, R = unknown> {
  readonly kind: "stint.task";
  readonly name: string;
  /** The handler of a single-handler task; for a multi-step task, null (see `steps`). */
  readonly handler: TaskHandler<P, R> | null;
  /** A multi-step task's steps, in order; null for a single-handler task. */
  readonly steps: readonly TaskStep[] | null;
  readonly hooks: TaskHooks<P> | null;
  readonly queue: string | null;
  readonly priority: number | null;
  readonly concurrency: ConcurrencyOptions<P> | null;
  readonly retry: { attempts: number; backoff: BackoffPolicy } | null;
  readonly timeoutMs: number | null;
  readonly delivery: "at-least-once" | "at-most-once";
  readonly transactional: boolean;
}

/** Any task, whatever its payload and result types (handlers are contravariant in P). */
// deno-lint-ignore no-explicit-any
export type AnyTask = Task<any, any>;

const TASK_OPTION_KEYS = new Set([
  "queue",
  "priority",
  "concurrency",
  "retry",
  "timeout",
  "hooks",
  "delivery",
  "transactional",
]);
const HOOK_KEYS = new Set(["onEnqueue", "before", "after", "onFailure"]);

/**
 * Declares a task: a name, a handler taking one JSON payload (or a list of
 * steps sharing a JSON-object workspace, DESIGN §10), and its defaults.
 */
export function defineTask<P = unknown, R = unknown>(
  name: string,
  handler: TaskHandler<P, R>,
  options?: TaskOptions<P>,
): Task<P, R>;
export function defineTask<W extends Record<string, unknown> = Record<string, unknown>, R = unknown>(
  name: string,
  steps: Array<StepFunction<W>>,
  options?: TaskOptions<W>,
): Task<W, R>;
export function defineTask<P = unknown, R = unknown>(
  name: string,
  handlerOrSteps: TaskHandler<P, R> | StepFunction[],
  options: TaskOptions<P> = {},
): Task<P, R> {
  configCheck.name(name, "task name");
  const steps = Array.isArray(handlerOrSteps) ? checkSteps(name, handlerOrSteps) : null;
  const handler = steps ? null : handlerOrSteps as TaskHandler<P, R>;
  if (!steps && typeof handler !== "function") {
    throw new ConfigError(`task ${name}: handler must be a function or an array of step functions`);
  }
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
  const delivery = options.delivery ?? "at-least-once";
  if (delivery !== "at-least-once" && delivery !== "at-most-once") {
    throw new ConfigError(`task ${name}: delivery must be "at-least-once" or "at-most-once", got ${JSON.stringify(delivery)}`);
  }
  const transactional = options.transactional ?? false;
  if (typeof transactional !== "boolean") throw new ConfigError(`task ${name}: transactional must be true or false`);
  if (transactional && delivery === "at-most-once") {
    // A crash rolls a transactional attempt back and runs it again; at-most-once never runs it again.
    throw new ConfigError(`task ${name}: transactional and delivery "at-most-once" contradict each other: choose one`);
  }
  return Object.freeze({
    kind: "stint.task",
    name,
    handler,
    steps,
    hooks: options.hooks === undefined ? null : checkHooks(name, options.hooks),
    queue,
    priority,
    concurrency: options.concurrency === undefined
      ? null
      : checkConcurrency<P>(options.concurrency, `task ${name}: concurrency`, configCheck),
    retry,
    timeoutMs,
    delivery,
    transactional,
  });
}

function checkSteps(task: string, list: unknown[]): readonly TaskStep[] {
  if (list.length === 0) throw new ConfigError(`task ${task}: a multi-step task needs at least one step`);
  const names = new Set<string>();
  return Object.freeze(list.map((fn, i) => {
    if (typeof fn !== "function") {
      throw new ConfigError(`task ${task}: step ${i + 1} is ${fn === null ? "null" : typeof fn}, not a function`);
    }
    const name = fn.name || `step${i + 1}`;
    if (name.length > MAX_NAME_LENGTH) throw new ConfigError(`task ${task}: step ${i + 1}'s name is longer than ${MAX_NAME_LENGTH} characters`);
    if (names.has(name)) throw new ConfigError(`task ${task}: two steps are named ${JSON.stringify(name)}`);
    names.add(name);
    return Object.freeze({ name, fn: fn as StepFunction });
  }));
}

function checkHooks<P>(task: string, hooks: unknown): TaskHooks<P> {
  if (hooks === null || typeof hooks !== "object" || Array.isArray(hooks)) {
    throw new ConfigError(`task ${task}: hooks must be an object of functions`);
  }
  for (const [key, fn] of Object.entries(hooks)) {
    if (!HOOK_KEYS.has(key)) {
      throw new ConfigError(`task ${task}: unknown hook ${JSON.stringify(key)} (known: ${[...HOOK_KEYS].join(", ")})`);
    }
    if (fn !== undefined && typeof fn !== "function") throw new ConfigError(`task ${task}: hook ${key} must be a function`);
  }
  return Object.freeze({ ...hooks }) as TaskHooks<P>;
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
