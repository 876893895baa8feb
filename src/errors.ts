/**
 * Typed errors. Every error Stint throws extends StintError and carries a
 * machine-readable `code` and, where one exists, the underlying `cause`.
 */
export class StintError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A payload, option or task name given to enqueue is not acceptable; nothing was written. */
export class EnqueueError extends StintError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ENQUEUE_INVALID", message, options);
  }
}

/** A configuration key has a bad value (the message names the key and the value). */
export class ConfigError extends StintError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONFIG_INVALID", message, options);
  }
}

export class JobNotFoundError extends StintError {
  readonly jobId: string;
  constructor(jobId: string) {
    super("JOB_NOT_FOUND", `no job with id ${JSON.stringify(jobId)}`);
    this.jobId = jobId;
  }
}

/**
 * A failed job with a unique key was not retried: another job holds the key,
 * waiting or running (DESIGN §11). Nothing changed; `holderId` is that job.
 */
export class KeyTakenError extends StintError {
  readonly jobId: string;
  readonly key: string;
  readonly holderId: string;
  constructor(jobId: string, key: string, holderId: string) {
    super("JOB_KEY_TAKEN", `job ${jobId} was not retried: its key ${JSON.stringify(key)} is held by job ${holderId}`);
    this.jobId = jobId;
    this.key = key;
    this.holderId = holderId;
  }
}

/** A running job cannot be discarded: cancel it instead. */
export class UndiscardableError extends StintError {
  readonly jobId: string;
  constructor(jobId: string, status: string) {
    super("JOB_UNDISCARDABLE", `job ${jobId} is ${status} and cannot be discarded; use cancel() to stop a running job`);
    this.jobId = jobId;
  }
}

/** The Stint instance was closed: nothing more can be done with it (create a new one). */
export class StintClosedError extends StintError {
  /** `what` says what met the closed instance, e.g. "enqueue() was called after close()". */
  constructor(what: string) {
    super("STINT_CLOSED", `this Stint instance is closed: ${what}`);
  }
}

/** `waitFor` gave up: the job had not ended within the timeout. `status` is the last one seen. */
export class WaitTimeoutError extends StintError {
  readonly jobId: string;
  readonly status: string;
  /** `cause`: the last error reading the job, when the database failed during the wait. */
  constructor(jobId: string, status: string, timeoutMs: number, cause?: unknown) {
    super("STINT_WAIT_TIMEOUT", `job ${jobId} did not end within ${timeoutMs} ms (it is ${status})`, { cause });
    this.jobId = jobId;
    this.status = status;
  }
}

/** The runner (or isolate) that held a job's claim died while the job ran. */
export class ProcessExitError extends StintError {
  constructor(message = "the process running this job exited", options?: { cause?: unknown }) {
    super("PROCESS_EXIT", message, options);
  }
}

/** The process that held a job's claim stopped heartbeating and was pruned. */
export class ProcessPrunedError extends StintError {
  constructor(message = "the process running this job stopped heartbeating and was pruned") {
    super("PROCESS_PRUNED", message);
  }
}

/** A claim was found with no live process behind it when a supervisor started. */
export class ProcessMissingError extends StintError {
  constructor(message = "the process that claimed this job is gone") {
    super("PROCESS_MISSING", message);
  }
}

/**
 * A stop interrupted a started job of an at-most-once task (DESIGN §11): it
 * is failed, not released, and never runs again whatever its `retry` says.
 */
export class JobInterruptedError extends StintError {
  constructor(message = "a stop interrupted this at-most-once job after it started; it does not run again") {
    super("JOB_INTERRUPTED", message);
  }
}

/** The job ran past its task's `timeout`. */
export class JobTimeoutError extends StintError {
  constructor(timeoutMs: number) {
    super("JOB_TIMEOUT", `job did not finish within its timeout of ${timeoutMs} ms`);
  }
}

/** The job was cancelled with `stint.cancel(id)` while it ran. */
export class JobCancelledError extends StintError {
  constructor(jobId: string) {
    super("JOB_CANCELLED", `job ${jobId} was cancelled`);
  }
}

/** A worker claimed a job whose task it does not know. */
export class UnknownTaskError extends StintError {
  constructor(task: string) {
    super("TASK_UNKNOWN", `no task named ${JSON.stringify(task)} is registered in this worker`);
  }
}

/** A task returned a value that does not round-trip through JSON. */
export class ResultError extends StintError {
  constructor(message: string) {
    super("RESULT_INVALID", message);
  }
}

/**
 * A durable call inside a handler (ctx.step, ctx.sleep, ctx.spawn, ctx.join)
 * was used wrongly: a name used twice in one run or by another kind of call, a
 * bad name or Duration, a join of jobs that are not this job's children.
 * Nothing was written; the attempt fails like any handler error.
 */
export class StepError extends StintError {
  constructor(message: string) {
    super("STEP_INVALID", message);
  }
}

/** A database operation failed; `cause` holds the client's error. */
export class DriverError extends StintError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DRIVER_ERROR", message, options);
  }
}

/** The serializable shape an error is stored in. */
export interface ErrorInfo {
  name: string;
  message: string;
  stack: string | null;
}

export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    return { name: error.name || "Error", message: String(error.message ?? ""), stack: error.stack ?? null };
  }
  let message: string;
  try {
    message = typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
  } catch {
    message = String(error);
  }
  return { name: "NonError", message, stack: null };
}

/** A registry statement (heartbeat, registration, deregistration) got no answer in time; the runtime moves on. */
export class DeadlineError extends StintError {
  constructor(operation: string, ms: number) {
    super("DEADLINE_EXCEEDED", `${operation} got no answer from the database within ${ms} ms`);
  }
}

/**
 * `errorInfo` for anything a handler may throw, and it never throws itself: a
 * thrown Proxy, or an object whose getters, toJSON or toString throw, once
 * left a job with no outcome, so it ran again and again. Whatever part cannot
 * be read is left out or named as such; every field is a string (a getter may
 * return anything).
 */
export function safeErrorInfo(error: unknown): ErrorInfo {
  if (typeof error === "string") return { name: "NonError", message: error, stack: null };
  const isError = tryRead(() => error instanceof Error);
  if (isError === true) {
    const e = error as Error;
    return {
      name: text(tryRead(() => e.name)) || "Error",
      message: text(tryRead(() => e.message)) ?? "",
      stack: text(tryRead(() => e.stack)) ?? null,
    };
  }
  const message = tryRead(() => JSON.stringify(error)) ?? tryRead(() => String(error));
  if (isError === false && message !== undefined) return { name: "NonError", message, stack: null };
  return {
    name: "UnreadableError",
    message: "a value was thrown that could not be read (its prototype, properties or conversions threw)",
    stack: null,
  };
}

function tryRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** A string for `value`, or undefined when there is none or converting it throws. */
function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return undefined;
  return tryRead(() => String(value));
}

/** The database has no Stint tables yet (or not all of them): run `stint.migrate()` (`stint migrate`) first. */
export class NotMigratedError extends StintError {
  constructor(options?: { cause?: unknown }) {
    super(
      "STINT_NOT_MIGRATED",
      "the database has no stint tables yet: run stint.migrate() (on the command line: stint migrate) first",
      options,
    );
  }
}

/** The command line itself is wrong (unknown command or flag, a bad or missing value): exit code 2. */
export class UsageError extends StintError {
  constructor(message: string) {
    super("CLI_USAGE", message);
  }
}

/** `supervisorPidfile` is held by a supervisor whose process still exists. */
export class PidfileError extends StintError {
  constructor(path: string, pid: number) {
    super("PIDFILE_HELD", `another supervisor (pid ${pid}) holds ${path}; stop it first or remove a stale file`);
  }
}

/** The monitoring app (src/hono/) refuses a malformed request: answered 400 with the message. */
export class BadRequestError extends StintError {
  constructor(message: string) {
    super("BAD_REQUEST", message);
  }
}

/**
 * A transactional task's `ctx.tx` (DESIGN §11) used where there is none: read
 * outside a transactional task, used after the handler returned or its
 * transaction rolled back, asked to commit or roll back itself (Stint does
 * that), or the job's success could not be written in it. Nothing was written
 * through it.
 */
export class TransactionError extends StintError {
  constructor(message: string) {
    super("TRANSACTION_INVALID", message);
  }
}

// The runtime's own abort reasons: not StintErrors (they never reach a caller), they decide a job's outcome.

/** The abort reason used when a stop runs out of time: the job goes back to ready. */
export class ShutdownSignal extends Error {
  constructor() {
    super("the runtime is shutting down");
    this.name = "ShutdownSignal";
  }
}

/**
 * Worker mode: the job was handed to an isolate that never started it (the
 * isolate went first, or the pool stopped). It goes back to ready.
 */
export class NotStartedSignal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotStartedSignal";
  }
}

/**
 * ctx.sleep or ctx.join suspended the job (DESIGN §10): the attempt ends
 * without counting as a failure. `until`: a sleep's wake-up time (ms);
 * `children`: the ids a join waits for.
 */
export class SuspendSignal extends Error {
  readonly until: number | null;
  readonly children: string[] | null;
  constructor(suspension: { until: number } | { children: string[] }) {
    super("the job is suspended until it is due again");
    this.name = "SuspendSignal";
    this.until = "until" in suspension ? suspension.until : null;
    this.children = "children" in suspension ? suspension.children : null;
  }
}
