/**
 * What a handler, a step and a hook receive beside the payload (DESIGN §10):
 * the job's identity and abort signal, and the durable calls — steps whose
 * results are stored, sleeps that suspend the job, child jobs and their join.
 */
import type { Duration } from "./duration.ts";
import type { JobStatus } from "./records.ts";
import type { JobHandle, JobResult, JobStep } from "./result.ts";

export interface TaskContext {
  /** Aborted on timeout, cancel() and shutdown (and when the job suspends); `signal.reason` says which. */
  readonly signal: AbortSignal;
  readonly jobId: string;
  /** 1 on the first run, 2 on the first retry, and so on (a multi-step job counts per step). */
  readonly attempt: number;
  readonly task: string;
  readonly queue: string;
  /** The job that spawned this one with ctx.spawn, or null. */
  readonly parentId: string | null;
  /**
   * A transactional task's transaction (DESIGN §11): the database client's
   * own transaction object on the queue's database — a postgres.js
   * transaction `sql`, a libSQL `Transaction`, a mysql2 connection in a
   * transaction (typed `any`: use it as your client's type). The job's
   * success is written in it and commits with the handler's writes; a throw,
   * timeout or cancel rolls it back. Stint commits it: calling commit,
   * rollback, release or close on it, reading it in a task that is not
   * transactional, or using it after the handler returned is a
   * TransactionError.
   */
  // deno-lint-ignore no-explicit-any
  readonly tx: any;
  /**
   * Calls `fn` at most once per job: its JSON result is stored under `name`,
   * and when the handler runs again (retry, recovery, after a sleep or join)
   * the stored result is returned without calling `fn`. A throw is not stored.
   */
  step<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
  /**
   * A durable sleep: the first time, the attempt ends (not as a failure) and
   * the job is scheduled `duration` from now, holding no worker or
   * concurrency slot; when it runs again from the top, the elapsed sleep returns at once.
   */
  sleep(name: string, duration: Duration): Promise<void>;
  /** ctx.sleep until `date`. */
  sleepUntil(name: string, date: Date): Promise<void>;
  /** Enqueues a child job once per job (memoized like a step); the child records this job as its parent. */
  spawn(name: string, task: { readonly name: string } | string, payload?: unknown, options?: SpawnOptions): Promise<JobHandle>;
  /**
   * The children's results once every one has ended (succeeded, failed,
   * discarded or cancelled); until then the job waits in status "waiting",
   * holding nothing, and runs again from the top when the last one ends.
   */
  join<R = unknown>(name: string, children: Array<JobHandle | string>): Promise<Array<JobResult<R>>>;
  /**
   * Keeps `value` (JSON) as the job's latest progress, shown by getResult().progress
   * and the dashboard: written at most about once a second, and the value current
   * when the attempt ends is always stored. Returns at once; a value that does not
   * round-trip through JSON throws a ResultError and nothing is stored.
   */
  progress(value: unknown): void;
}

/** Enqueue options a child job may take (it commits on its own, never in a caller's transaction). */
export interface SpawnOptions {
  queue?: string;
  priority?: number;
  runAt?: Date;
  delay?: Duration;
}

/** The job a worker-side hook sees: for a multi-step job, `payload` is the current workspace. */
export interface HookJob<P = unknown> {
  id: string;
  task: string;
  queue: string;
  attempt: number;
  payload: P;
  parentId: string | null;
  /** A multi-step job's current step, else null. */
  step: StepPosition | null;
}

/** A job right after enqueue wrote it, as onEnqueue sees it. */
export interface EnqueuedJob<P = unknown> {
  id: string;
  task: string;
  queue: string;
  status: JobStatus;
  payload: P;
  /** The caller's transaction when the job was enqueued with `tx` (the hook runs inside it). */
  tx: unknown;
}

export interface FailureContext extends TaskContext {
  /** Whether another attempt follows this failure (the task's `retry` has attempts left). */
  readonly willRetry: boolean;
}

/** A multi-step job's position: the step about to run (or running), its name, and how many there are. */
export type StepPosition = JobStep;

/**
 * django-db-queue's four hooks. `before` failing fails the attempt as the
 * handler would; `after` always runs once the attempt is over (after
 * `onFailure`), and its error is only reported; hooks count against `timeout`.
 */
export interface TaskHooks<P = unknown> {
  onEnqueue?(job: EnqueuedJob<P>): void | Promise<void>;
  before?(job: HookJob<P>, ctx: TaskContext): void | Promise<void>;
  after?(job: HookJob<P>, ctx: TaskContext): void | Promise<void>;
  onFailure?(job: HookJob<P>, error: unknown, ctx: FailureContext): void | Promise<void>;
}
