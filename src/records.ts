/**
 * The shapes that cross the driver boundary: rows as the core writes them
 * (`NewJob`, `Outcome`), rows as drivers read them back (`JobRecord`,
 * `ClaimedJob`, `ProcessRecord`, ...). The `Driver` interface that moves them
 * is in driver.ts.
 *
 * JSON travels as text (`payload`, `returnValue`), so the core decides what is
 * valid JSON and drivers only store it.
 */
import type { ErrorInfo } from "./errors.ts";

export interface DriverCapabilities {
  /**
   * A worker with `prefetch` may keep two claims in flight at once: measured
   * faster on PostgreSQL; on MariaDB the two contend in InnoDB and drain slower.
   */
  readonly overlappingClaims: boolean;
}

export type JobStatus =
  | "scheduled"
  | "ready"
  | "blocked"
  | "running"
  | "succeeded"
  | "failed"
  | "discarded"
  | "cancelled"
  /** A parent suspended in ctx.join until its awaited children have ended (DESIGN §10). */
  | "waiting";

export interface ConcurrencyPolicy {
  key: string;
  limit: number;
  durationMs: number;
  onConflict: "block" | "discard";
}

export interface NewJob {
  id: string;
  task: string;
  queue: string;
  priority: number;
  /** JSON text */
  payload: string;
  /** When the job is due; at or before `now` means ready at once. */
  scheduledAt: Date;
  concurrency: ConcurrencyPolicy | null;
  /** The job that spawned this one (ctx.spawn), stored as parent_id. */
  parentId?: string | null;
  /**
   * A multi-step job's position as JSON text `{"index":0,"name":"download","count":2}`;
   * absent or null for a single-handler job. Its workspace starts as the payload.
   */
  step?: string | null;
  /** A unique key (DESIGN §11): at most one job per (backend, key) waits to run. */
  key?: string | null;
  /** What inserting a job whose key is taken does (default "skip"); only with `key`. */
  onDuplicate?: "skip" | "replace";
  /** "at-most-once" (DESIGN §11), stored so that whoever recovers the job knows; null: at-least-once. */
  delivery?: "at-most-once" | null;
}

export interface InsertedJob {
  id: string;
  status: JobStatus;
  /**
   * True when a job with the key already waited (or ran): `id` and `status`
   * are that job's, and nothing new was written (skip) or its payload,
   * priority and run time were replaced (replace).
   */
  duplicate?: boolean;
}

export interface ClaimedJob {
  id: string;
  task: string;
  queue: string;
  priority: number;
  /** JSON text */
  payload: string;
  /** 1 for the first run. */
  attempt: number;
  enqueuedAt: Date;
  /** Which claim of the job this is (see Outcome): set by the driver's claim. */
  claim: ClaimToken;
  /** A multi-step job's workspace as JSON text (null until its first step completed: the payload is). */
  workspace?: string | null;
  /** A multi-step job's position as JSON text (NewJob.step); null for a single-handler job. */
  step?: string | null;
  /** The job that spawned this one, or null. */
  parentId?: string | null;
  /** "at-most-once" when the job's task said so at enqueue (NewJob.delivery), else null. */
  delivery?: "at-most-once" | null;
}

/**
 * One claim of a job: its attempt and the claim's time in ms (a claim records
 * `now` as its start). A released job is claimed again with the same attempt,
 * so the time tells the claims apart.
 */
export interface ClaimToken {
  attempt: number;
  startedAt: number;
}

/** A claim a process holds. */
export interface HeldClaim extends ClaimToken {
  id: string;
}

export interface JobRecord {
  id: string;
  task: string;
  queue: string;
  priority: number;
  status: JobStatus;
  /** JSON text */
  payload: string;
  /** JSON text, null until the job succeeds */
  returnValue: string | null;
  /** Every failed attempt's error, oldest first. */
  errors: Array<ErrorInfo & { attempt: number; at: Date }>;
  attempts: number;
  concurrencyKey: string | null;
  /** The whole stored policy (so a copy of the job keeps it). */
  concurrency?: ConcurrencyPolicy | null;
  enqueuedAt: Date;
  scheduledAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** A multi-step job's current workspace (JSON text), null for others or before its first step completed. */
  workspace: string | null;
  /** A multi-step job's position (JSON text, NewJob.step), else null. */
  step: string | null;
  parentId: string | null;
  /** The unique key it was enqueued with (NewJob.key), else null. */
  key?: string | null;
  delivery?: "at-most-once" | null;
  /** The latest ctx.progress value (JSON text) and when it was stored, else null (DESIGN §12). */
  progress?: string | null;
  progressAt?: Date | null;
}

/**
 * What became of a claimed job. `retry` reschedules it (the error is kept);
 * `released` puts it back to ready without counting the attempt (shutdown).
 *
 * Multi-step and durable jobs (DESIGN §10) add three that end the attempt
 * without ending the job:
 * - `advance`: a step completed; the workspace and the next position are
 *   written and the job goes back to ready at once, keeping any concurrency
 *   slot it holds (it does not pass the gate again); attempts start over at 0
 *   for the next step.
 * - `sleep`: ctx.sleep; the job is scheduled for `until`, gives its
 *   concurrency slot back (it passes the gate again when due), and the attempt
 *   is not counted (as for `released`).
 * - `wait`: ctx.join; the job waits (status "waiting", no state row, its slot
 *   given back, the attempt not counted) until every job of `children` that
 *   has not ended yet has ended; when none is left (already, or as the
 *   statement that ends the last one commits) it becomes ready through the
 *   concurrency gate. `children` are ids of jobs whose parent is this job.
 *
 * A `succeeded` outcome of a multi-step job carries its final `workspace`.
 * `parentId`, when the job has a parent, lets a dialect's fast path hand the
 * batch to the shared engine, which wakes parents (the engine reads the
 * parent from the row, not from here).
 * With `claim`, the outcome applies only to that claim of the job: a write
 * retried after it had in fact committed must not land on a later claim of
 * the same job by the same process. Drivers may skip the check for
 * "succeeded": a committed success ends the job for good (finished or
 * deleted), so a repeated one can never meet a later claim.
 */
export type Outcome =
  & (
    | { id: string; kind: "succeeded"; returnValue: string; workspace?: string }
    | { id: string; kind: "failed"; error: ErrorInfo }
    | { id: string; kind: "retry"; error: ErrorInfo; retryAt: Date }
    | { id: string; kind: "cancelled"; error: ErrorInfo }
    | { id: string; kind: "released" }
    | { id: string; kind: "advance"; workspace: string; step: string }
    | { id: string; kind: "sleep"; until: Date }
    | { id: string; kind: "wait"; children: string[] }
  )
  & {
    claim?: ClaimToken;
    parentId?: string | null;
    /** The job has stored durable steps: deleting it must delete them (a fast path hands it to the engine). */
    stored?: boolean;
    /**
     * Already written, inside a transactional task's transaction (DESIGN §11),
     * and committed with it: the completer only reports it. Drivers never see it.
     */
    committed?: boolean;
  };

/** A queue selector: an exact name, a prefix ending in "*", or "*" for all queues. */
export type QueueSelector = { kind: "all" } | { kind: "exact"; queue: string } | { kind: "prefix"; prefix: string };

export interface JobFilter {
  queue?: string;
  task?: string;
}

export interface QueueInfo {
  queue: string;
  ready: number;
  scheduled: number;
  blocked: number;
  running: number;
  /** Parents suspended in ctx.join. */
  waiting: number;
  paused: boolean;
  /** The oldest ready job's latency clock, or null when none is ready. */
  oldestReadyAt: Date | null;
  /** When the next scheduled job is due, or null. */
  nextScheduledAt: Date | null;
}

/** A claimed job whose process is gone (the same fields as a fresh claim, its claim token the claimed row's). */
export type OrphanClaim = ClaimedJob;


/** A row of a job listing (dashboard drill-down): the job without its error history. */
export interface JobSummary {
  id: string;
  task: string;
  queue: string;
  priority: number;
  status: JobStatus;
  attempts: number;
  enqueuedAt: Date;
  scheduledAt: Date;
  finishedAt: Date | null;
  /** The latest error's name and message, for failed jobs. */
  lastError: string | null;
  parentId: string | null;
  /** The latest ctx.progress value (JSON text), else null. */
  progress?: string | null;
}

/**
 * What jobList selects: every field optional but `limit`. `where` maps
 * top-level field names to JSON texts, matched by JSON equality against the
 * job's current workspace when it has one, else its payload.
 */
export interface JobQuery {
  status?: JobStatus;
  queue?: string;
  task?: string;
  parentId?: string;
  where?: Record<string, string>;
  limit: number;
  /** Pages by id: only jobs whose id sorts before it. */
  before?: string;
}

export interface ProcessInfo {
  kind: string;
  name: string;
  pid: number | null;
  hostname: string | null;
  metadata: Record<string, unknown>;
  supervisorId: string | null;
}

/** A registered process as read back: what it registered, plus its id and heartbeat. */
export interface ProcessRecord extends ProcessInfo {
  id: string;
  lastHeartbeatAt: Date;
  createdAt: Date;
}

/** A recurring task as stored (payload is JSON text; null queue/priority: the task's defaults). */
export interface RecurringDefinition {
  key: string;
  task: string;
  cron: string;
  timeZone: string | null;
  payload: string;
  queue: string | null;
  priority: number | null;
  description: string | null;
}

export interface RecurringRecord extends RecurringDefinition {
  /** From the options (synced at scheduler start), not schedule(). */
  static: boolean;
  /** The latest slot whose job was enqueued; the next slot to fire (null: none). */
  lastRunAt: Date | null;
  nextRunAt: Date | null;
}

/** A concurrency semaphore (database-wide): free slots (`value`) and jobs waiting on its key. */
export interface SemaphoreRecord {
  key: string;
  value: number;
  limit: number;
  expiresAt: Date;
  waiters: number;
}

export interface PruneCounts {
  finished: number;
  failed: number;
  recurring: number;
  /** Some category deleted a full batch: more may be left, run it again. */
  limitReached: boolean;
}

export interface PruneParams {
  backend: string;
  finishedBefore: Date | null;
  failedBefore: Date | null;
  recurringBefore: Date | null;
  task?: string;
  taskKey?: string;
  batchSize: number;
}
