/**
 * The checks on what callers hand Stint, in one place, each bad value named in
 * the error before anything is written or opened. Which error a check throws
 * depends on the door the value came in by: options in code or files
 * (createStint, defineTask, a method's options) throw ConfigError, enqueue's
 * arguments EnqueueError, command-line flags UsageError. So the shared checks
 * come bound to their error (`configCheck.name(value, "backend")`) and no
 * caller passes an error class around.
 */
import type { JobFilter, JobStatus } from "./records.ts";
import type { Duration } from "./duration.ts";
import { ConfigError, EnqueueError, StepError, UsageError } from "./errors.ts";
import { isJobId } from "./ids.ts";
import { hasUnstorable } from "./json.ts";
import { hasUnencodedPassword, redactUrl } from "./redact.ts";

/** A value as an error message shows it. */
export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  // JSON.stringify would say "null" for NaN and the infinities.
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "symbol") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// ---- durations ----

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;
/**
 * About 136,900 years: half the Date range, so that now plus any duration (a
 * delay, a backoff, a window) is still a valid Date.
 */
export const MAX_DURATION_MS = 4.32e15;

/**
 * Parses a Duration into milliseconds. `what` names the option in the error.
 * Negative, non-finite and unit-less strings are refused, and so is anything
 * longer than the Date range (a time plus it would be an Invalid Date).
 * `ErrorType` is the error thrown (default ConfigError).
 */
// Public (mod.ts), hence the error class parameter; inside Stint the bound checks below choose it.
export function parseDuration(value: unknown, what: string, ErrorType: new (m: string) => Error = ConfigError): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new ErrorType(`${what}: ${value} is not a valid duration (a non-negative number of milliseconds)`);
    }
    return inRange(value, what, ErrorType);
  }
  if (typeof value === "string") {
    const match = PATTERN.exec(value);
    if (match) return inRange(Math.round(Number(match[1]) * UNITS[match[2]]), what, ErrorType);
    throw new ErrorType(
      `${what}: ${JSON.stringify(value)} is not a valid duration (use milliseconds or a number with ms, s, m, h or d, e.g. "30s")`,
    );
  }
  throw new ErrorType(`${what}: ${describe(value)} is not a valid duration (use milliseconds or a string like "30s")`);
}

function inRange(ms: number, what: string, ErrorType: new (m: string) => Error): number {
  if (ms > MAX_DURATION_MS) throw new ErrorType(`${what}: ${ms} ms is longer than any date can be away (at most ${MAX_DURATION_MS} ms)`);
  return ms;
}

// ---- names and priorities ----

export const MAX_NAME_LENGTH = 200;

/** Why `value` cannot be a name (of a task, queue, backend, key…), or null when it can. */
export function nameProblem(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_NAME_LENGTH || value.trim() !== value) {
    return `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters without surrounding spaces`;
  }
  if (hasUnstorable(value)) return "must not contain a NUL character or a lone surrogate (half of a UTF-16 pair)";
  return null;
}

/** The checks every door shares, each throwing that door's error. */
export interface Checks {
  /** Throws the door's error with this message. */
  fail(message: string): never;
  /** A name of a task, queue, backend, key…; `what` names it in the error. */
  name(value: unknown, what: string): string;
  priority(value: unknown, what: string): number;
  /** A Duration in milliseconds. */
  duration(value: unknown, what: string): number;
}

function checks(Fail: new (message: string) => Error): Checks {
  const fail = (message: string): never => {
    throw new Fail(message);
  };
  return {
    fail,
    name(value, what) {
      const problem = nameProblem(value);
      if (problem) fail(`${what} ${problem}, got ${describe(value)}`);
      return value as string;
    },
    priority(value, what) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < -100 || value > 100) {
        fail(`${what} must be an integer from -100 to 100, got ${describe(value)}`);
      }
      return value as number;
    },
    duration: (value, what) => parseDuration(value, what, Fail),
  };
}

/** Options in code or in a file: ConfigError. */
export const configCheck: Checks = checks(ConfigError);
/** enqueue's task, payload and options: EnqueueError. */
export const enqueueCheck: Checks = checks(EnqueueError);
/** Names and Durations given to ctx.step, ctx.sleep, ctx.spawn and ctx.join: StepError. */
export const stepCheck: Checks = checks(StepError);
/** Command-line flags: UsageError (exit code 2). */
export const usageCheck: Checks = checks(UsageError);

// ---- database URLs ----

const URL_SCHEME = /^(file|libsql|https?|wss?|postgres|postgresql|mysql|mariadb):/;

/** A database URL (createStint's and createClient's `url`), checked before any driver sees it. */
export function checkDatabaseUrl(url: unknown): string {
  if (typeof url !== "string" || !URL_SCHEME.test(url)) {
    throw new ConfigError(
      `url: ${describe(typeof url === "string" ? redactUrl(url) : url)} is not valid ` +
        "(expected a database URL starting with file:, libsql:, http(s):, postgres(ql):, mysql: or mariadb:)",
    );
  }
  if (hasUnencodedPassword(url)) {
    // Every driver's URL parser would read the password as the host or port and quote it in its error.
    throw new ConfigError(
      `url: ${JSON.stringify(redactUrl(url))}: the password holds a "/", "?" or "#"; percent-encode it (%2F, %3F, %23)`,
    );
  }
  return url;
}

// ---- the options of Stint's methods ----

export const JOB_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  "scheduled", "ready", "blocked", "running", "waiting", "succeeded", "failed", "discarded", "cancelled",
]);

export const MAX_LIST_LIMIT = 1000;

export interface ListOptions {
  queue?: string;
  limit?: number;
  before?: string;
}

export interface StartOptions {
  mode?: "worker" | "async";
  /** Run only the workers, or only the dispatchers. */
  only?: "work" | "dispatch";
  skipRecurring?: boolean;
  /** Own the process: install signal handlers. */
  standalone?: boolean;
}

function knownKeys(value: unknown, what: string, keys: string[], example: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`${what} must be an object like ${example}, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new ConfigError(`${what}: unknown option ${JSON.stringify(key)} (known: ${keys.join(", ")})`);
  }
  return value as Record<string, unknown>;
}

export function checkListArgs(status: unknown, options: unknown): { status: JobStatus } & Required<Pick<ListOptions, "limit">> & ListOptions {
  if (!JOB_STATUSES.has(status as JobStatus)) {
    throw new ConfigError(`listJobs: ${describe(status)} is not a job status (one of ${[...JOB_STATUSES].join(", ")})`);
  }
  const o = knownKeys(options, "listJobs options", ["queue", "limit", "before"], "{ queue, limit, before }");
  const limit = o.limit ?? 50;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new ConfigError(`listJobs limit: ${describe(limit)} is not valid (expected an integer from 1 to ${MAX_LIST_LIMIT})`);
  }
  if (o.before !== undefined && !isJobId(o.before)) throw new ConfigError(`listJobs before: ${describe(o.before)} is not a job id`);
  return {
    status: status as JobStatus,
    limit,
    queue: o.queue === undefined ? undefined : configCheck.name(o.queue, "listJobs queue"),
    before: o.before as string | undefined,
  };
}

export function checkHealthOptions(options: unknown): { maxAge?: Duration } {
  return knownKeys(options, "health options", ["maxAge"], '{ maxAge: "5m" }') as { maxAge?: Duration };
}

export function checkFilter(filter: unknown): JobFilter {
  const f = knownKeys(filter, "filter", ["queue", "task"], "{ queue, task }") as JobFilter;
  if (f.queue !== undefined) configCheck.name(f.queue, "filter.queue");
  if (f.task !== undefined) configCheck.name(f.task, "filter.task");
  return f;
}

const START_KEYS = new Set(["mode", "only", "skipRecurring", "standalone"]);

export function checkStartOptions(options: StartOptions): Required<Pick<StartOptions, "standalone">> & StartOptions {
  if (options === null || typeof options !== "object") throw new ConfigError("start options must be an object");
  for (const key of Object.keys(options)) {
    if (!START_KEYS.has(key)) throw new ConfigError(`start: unknown option ${JSON.stringify(key)}`);
  }
  if (options.mode !== undefined && options.mode !== "async" && options.mode !== "worker") {
    throw new ConfigError(`start.mode: ${JSON.stringify(options.mode)} is not valid (expected "worker" or "async")`);
  }
  if (options.only !== undefined && options.only !== "work" && options.only !== "dispatch") {
    throw new ConfigError(`start.only: ${JSON.stringify(options.only)} is not valid (expected "work" or "dispatch")`);
  }
  return { ...options, standalone: options.standalone ?? false };
}

export interface QueueDepthOptions {
  /** The queues to count, each present in the result (0 when none waits); default every queue with waiting jobs. */
  queues?: string[];
  /** Leave out scheduled jobs due later than now. */
  excludeFuture?: boolean;
}

export function checkDepthOptions(options: unknown): { queues?: string[]; excludeFuture: boolean } {
  const o = knownKeys(options, "queueDepths options", ["queues", "excludeFuture"], '{ queues: ["default"], excludeFuture: true }');
  if (o.queues !== undefined && !Array.isArray(o.queues)) {
    throw new ConfigError(`queueDepths queues: ${describe(o.queues)} is not valid (expected an array of queue names)`);
  }
  if (o.excludeFuture !== undefined && typeof o.excludeFuture !== "boolean") {
    throw new ConfigError(`queueDepths excludeFuture: ${describe(o.excludeFuture)} is not valid (expected true or false)`);
  }
  return {
    queues: (o.queues as unknown[] | undefined)?.map((q, i) => configCheck.name(q, `queueDepths queues[${i}]`)),
    excludeFuture: (o.excludeFuture as boolean | undefined) ?? false,
  };
}
