/**
 * Options for createStint: one camelCase schema, validated once with a
 * ConfigError that names the key and the bad value. Resolved options carry
 * milliseconds and defaults (dj_queue's).
 */
import { type RecurringOptions, resolveRecurring } from "./recurring.ts";
import type { RecurringDefinition } from "./records.ts";
import type { Driver } from "./driver.ts";
import type { Duration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { MAX_TIMER_MS } from "./timers.ts";
import type { Logger } from "./log.ts";
import type { Platform } from "./platform.ts";
import { parseSelectors } from "./selectors.ts";
import type { AnyTask } from "./task.ts";
import { checkDatabaseUrl, configCheck, describe } from "./validate.ts";
import type { QueueSelector } from "./records.ts";

export interface WorkerOptions {
  queues?: string[];
  concurrency?: number;
  isolates?: number;
  pollingInterval?: Duration;
  /** Jobs claimed ahead of free slots and held locally (default 0): fewer, bigger claims for short jobs. */
  prefetch?: number;
  /** At most `limit` jobs started by this worker in any window of `per` (django-db-queue's --rate_limit); local to it. */
  rateLimit?: { limit: number; per: Duration };
}

export interface DispatcherOptions {
  batchSize?: number;
  pollingInterval?: Duration;
  concurrencyMaintenance?: boolean;
  concurrencyMaintenanceInterval?: Duration;
}

export interface RuntimeErrorContext {
  /** What failed: "claim", "finish", "heartbeat", "hook", "dispatch", … */
  operation: string;
  processName?: string;
  jobId?: string;
}

export interface StintOptions {
  /** file:, libsql:, http(s): → libSQL; postgres(ql): → PostgreSQL; mysql: → MySQL/MariaDB. Default file:stint.db */
  url?: string;
  driver?: Driver;
  backend?: string;
  tasks?: URL | string | AnyTask[] | Record<string, unknown>;
  mode?: "worker" | "async";
  workers?: WorkerOptions[];
  dispatchers?: DispatcherOptions[];
  scheduler?: { dynamicTasks?: boolean; pollingInterval?: Duration };
  /** Static recurring tasks, synced when the scheduler starts. */
  recurring?: Record<string, RecurringOptions>;
  processHeartbeatInterval?: Duration;
  processAliveThreshold?: Duration;
  shutdownTimeout?: Duration;
  supervisorPidfile?: string;
  preserveFinishedJobs?: boolean;
  clearFinishedJobsAfter?: Duration;
  clearFailedJobsAfter?: Duration;
  clearRecurringExecutionsAfter?: Duration;
  defaultConcurrencyDuration?: Duration;
  listenNotify?: boolean;
  statementTimeout?: Duration;
  /** Worker mode: an isolate that answers no ping for this long is replaced (default 30s). */
  isolateWatchdogTimeout?: Duration;
  /** Worker mode: how long a job may ignore its aborted signal before its isolate is terminated (default 2s). */
  isolateAbortGrace?: Duration;
  onRuntimeError?: (error: unknown, context: RuntimeErrorContext) => void;
  logger?: Logger;
  platform?: Platform;
}

export interface ResolvedWorker {
  queues: string[];
  selectors: QueueSelector[];
  concurrency: number;
  isolates: number;
  pollingIntervalMs: number;
  prefetch: number;
  rateLimit: { limit: number; perMs: number } | null;
}

export interface ResolvedDispatcher {
  batchSize: number;
  pollingIntervalMs: number;
  concurrencyMaintenance: boolean;
  concurrencyMaintenanceIntervalMs: number;
}

export interface ResolvedConfig {
  url: string;
  backend: string;
  mode: "worker" | "async" | null;
  workers: ResolvedWorker[];
  dispatchers: ResolvedDispatcher[];
  scheduler: { dynamicTasks: boolean; pollingIntervalMs: number };
  recurring: RecurringDefinition[];
  processHeartbeatIntervalMs: number;
  processAliveThresholdMs: number;
  shutdownTimeoutMs: number;
  supervisorPidfile: string | null;
  preserveFinishedJobs: boolean;
  clearFinishedJobsAfterMs: number;
  clearFailedJobsAfterMs: number | null;
  clearRecurringExecutionsAfterMs: number | null;
  defaultConcurrencyDurationMs: number;
  listenNotify: boolean;
  statementTimeoutMs: number;
  isolateWatchdogTimeoutMs: number;
  isolateAbortGraceMs: number;
}

export const DEFAULT_URL = "file:stint.db";
const KEYS = new Set([
  "url", "driver", "backend", "tasks", "mode", "workers", "dispatchers", "scheduler", "recurring",
  "processHeartbeatInterval", "processAliveThreshold", "shutdownTimeout", "supervisorPidfile", "preserveFinishedJobs",
  "clearFinishedJobsAfter", "clearFailedJobsAfter", "clearRecurringExecutionsAfter", "defaultConcurrencyDuration",
  "listenNotify", "statementTimeout", "isolateWatchdogTimeout", "isolateAbortGrace", "onRuntimeError", "logger", "platform",
]);

function bad(key: string, value: unknown, expected: string): never {
  throw new ConfigError(`${key}: ${describe(value)} is not valid (expected ${expected})`);
}

/** `label` is the key's full path (e.g. "workers[0].pollingInterval"), named in the error. */
function duration(options: Record<string, unknown>, key: string, fallback: number, positive = true, label = key): number {
  const value = options[key];
  if (value === undefined) return fallback;
  const ms = configCheck.duration(value, label);
  if (positive && ms <= 0) bad(label, value, "a duration greater than zero");
  return ms;
}

/**
 * A duration that drives a timer (an interval, a poll, a deadline). Above what
 * setTimeout holds (2^31-1 ms, about 24.8 days) a timer fires after 1 ms: a
 * 30-day heartbeat would write in a hot loop. No such setting makes sense that
 * long, so it is refused rather than stretched.
 */
function timerDuration(options: Record<string, unknown>, key: string, fallback: number, positive = true, label = key): number {
  const ms = duration(options, key, fallback, positive, label);
  if (ms > MAX_TIMER_MS) bad(label, options[key], `a duration of at most ${MAX_TIMER_MS} ms (about 24.8 days)`);
  return ms;
}

function int(value: unknown, key: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    bad(key, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function bool(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") bad(key, value, "true or false");
  return value;
}

function objectKeys(value: unknown, key: string, allowed: string[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) bad(key, value, "an object");
  for (const k of Object.keys(value as object)) {
    if (!allowed.includes(k)) throw new ConfigError(`${key}: unknown option ${JSON.stringify(k)} (known: ${allowed.join(", ")})`);
  }
  return value as Record<string, unknown>;
}

export function resolveConfig(input: StintOptions): ResolvedConfig {
  const o = objectKeys(input === undefined ? {} : input, "createStint options", [...KEYS]);
  const url = checkDatabaseUrl(o.url === undefined ? DEFAULT_URL : o.url);
  const backend = o.backend === undefined ? "default" : configCheck.name(o.backend, "backend");
  if (o.mode !== undefined && o.mode !== "worker" && o.mode !== "async") bad("mode", o.mode, '"worker" or "async"');
  if (o.driver !== undefined && (o.driver === null || typeof (o.driver as Driver).jobClaim !== "function")) {
    bad("driver", o.driver, "a Driver instance");
  }
  if (o.tasks !== undefined && !(o.tasks instanceof URL) && typeof o.tasks !== "string" && (o.tasks === null || typeof o.tasks !== "object")) {
    bad("tasks", o.tasks, "a module URL, an array or a record of tasks");
  }
  for (const fn of ["onRuntimeError"]) {
    if (o[fn] !== undefined && typeof o[fn] !== "function") bad(fn, o[fn], "a function");
  }
  if (o.logger !== undefined && (o.logger === null || typeof o.logger !== "object")) bad("logger", o.logger, "a logger object");
  if (o.supervisorPidfile !== undefined && (typeof o.supervisorPidfile !== "string" || o.supervisorPidfile === "")) {
    bad("supervisorPidfile", o.supervisorPidfile, "a file path");
  }
  const scheduler = o.scheduler === undefined ? {} : objectKeys(o.scheduler, "scheduler", ["dynamicTasks", "pollingInterval"]);
  return checkDrainFits({
    url,
    backend,
    mode: (o.mode as "worker" | "async" | undefined) ?? null,
    workers: resolveWorkers(o.workers),
    dispatchers: resolveDispatchers(o.dispatchers),
    scheduler: {
      dynamicTasks: bool(scheduler.dynamicTasks, "scheduler.dynamicTasks", false),
      pollingIntervalMs: timerDuration(scheduler, "pollingInterval", 1000, true, "scheduler.pollingInterval"),
    },
    recurring: resolveRecurring(o.recurring),
    processHeartbeatIntervalMs: timerDuration(o, "processHeartbeatInterval", 60_000),
    processAliveThresholdMs: duration(o, "processAliveThreshold", 300_000),
    shutdownTimeoutMs: timerDuration(o, "shutdownTimeout", 5000, false),
    supervisorPidfile: (o.supervisorPidfile as string | undefined) ?? null,
    preserveFinishedJobs: bool(o.preserveFinishedJobs, "preserveFinishedJobs", true),
    clearFinishedJobsAfterMs: duration(o, "clearFinishedJobsAfter", 86_400_000),
    clearFailedJobsAfterMs: o.clearFailedJobsAfter === undefined ? null : duration(o, "clearFailedJobsAfter", 0),
    clearRecurringExecutionsAfterMs: o.clearRecurringExecutionsAfter === undefined
      ? null
      : duration(o, "clearRecurringExecutionsAfter", 0),
    defaultConcurrencyDurationMs: duration(o, "defaultConcurrencyDuration", 180_000),
    listenNotify: bool(o.listenNotify, "listenNotify", true),
    statementTimeoutMs: timerDuration(o, "statementTimeout", 30_000),
    isolateWatchdogTimeoutMs: timerDuration(o, "isolateWatchdogTimeout", 30_000),
    isolateAbortGraceMs: timerDuration(o, "isolateAbortGrace", 2000),
  });
}

/**
 * A stopping process heartbeats through its drain; if those beats fail (the
 * database unreachable), its row still must not turn stale before the drain
 * ends, or it is pruned and its running jobs start again elsewhere. The last
 * beat is at most one interval old when the stop begins, so the drain and one
 * interval must fit in processAliveThreshold.
 */
function checkDrainFits(c: ResolvedConfig): ResolvedConfig {
  if (c.shutdownTimeoutMs + c.processHeartbeatIntervalMs >= c.processAliveThresholdMs) {
    throw new ConfigError(
      `shutdownTimeout (${c.shutdownTimeoutMs} ms) plus processHeartbeatInterval (${c.processHeartbeatIntervalMs} ms) ` +
        `must be less than processAliveThreshold (${c.processAliveThresholdMs} ms): a draining process would look ` +
        `dead and its running jobs would start again elsewhere`,
    );
  }
  return c;
}

function resolveWorkers(value: unknown): ResolvedWorker[] {
  if (value === undefined) value = [{}];
  if (!Array.isArray(value)) bad("workers", value, "an array of worker options");
  return value.map((raw, i) => {
    const key = `workers[${i}]`;
    const w = objectKeys(raw, key, ["queues", "concurrency", "isolates", "pollingInterval", "prefetch", "rateLimit"]);
    const queues = w.queues === undefined ? ["*"] : w.queues;
    if (!Array.isArray(queues)) bad(`${key}.queues`, queues, "an array of queue selectors");
    if (queues.length === 0) throw new ConfigError(`${key}.queues: an empty list selects no queue (omit it for all queues, or use ["*"])`);
    return {
      queues: queues as string[],
      selectors: parseSelectors(queues, `${key}.queues`),
      concurrency: int(w.concurrency, `${key}.concurrency`, 1, 10_000, 3),
      isolates: int(w.isolates, `${key}.isolates`, 1, 256, 1),
      pollingIntervalMs: timerDuration(w, "pollingInterval", 100, true, `${key}.pollingInterval`),
      prefetch: int(w.prefetch, `${key}.prefetch`, 0, 100_000, 0),
      rateLimit: w.rateLimit === undefined ? null : workerRateLimit(w.rateLimit, `${key}.rateLimit`),
    };
  });
}

/** A worker's rateLimit: `limit` a whole number from 1 to 1,000,000, `per` a Duration above zero that a timer holds. */
function workerRateLimit(value: unknown, key: string): { limit: number; perMs: number } {
  const r = objectKeys(value, key, ["limit", "per"]);
  if (r.limit === undefined) throw new ConfigError(`${key}.limit is missing (a whole number of job starts)`);
  if (r.per === undefined) throw new ConfigError(`${key}.per is missing (a duration, e.g. "1s")`);
  return {
    limit: int(r.limit, `${key}.limit`, 1, 1_000_000, 1),
    perMs: timerDuration(r, "per", 0, true, `${key}.per`),
  };
}

function resolveDispatchers(value: unknown): ResolvedDispatcher[] {
  if (value === undefined) value = [{}];
  if (!Array.isArray(value)) bad("dispatchers", value, "an array of dispatcher options");
  return value.map((raw, i) => {
    const key = `dispatchers[${i}]`;
    const d = objectKeys(raw, key, ["batchSize", "pollingInterval", "concurrencyMaintenance", "concurrencyMaintenanceInterval"]);
    return {
      batchSize: int(d.batchSize, `${key}.batchSize`, 1, 100_000, 500),
      pollingIntervalMs: timerDuration(d, "pollingInterval", 1000, true, `${key}.pollingInterval`),
      concurrencyMaintenance: bool(d.concurrencyMaintenance, `${key}.concurrencyMaintenance`, true),
      concurrencyMaintenanceIntervalMs: timerDuration(d, "concurrencyMaintenanceInterval", 600_000, true, `${key}.concurrencyMaintenanceInterval`),
    };
  });
}
