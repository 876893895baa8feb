/**
 * The driver boundary: everything the core asks of a database. The
 * maintenance half (concurrency, recurring tasks, retention) is in
 * driver-maintenance.ts; this module re-exports its types.
 *
 * Drivers (drivers/libsql, drivers/postgres, drivers/mysql) implement `Driver`
 * over their npm client and own all SQL. Methods put the noun first, take one
 * params object, and receive `now` from the core so that time is injectable in
 * tests. Every method that touches control rows is scoped by `backend`.
 *
 * JSON travels as text across this boundary (`payload`, `returnValue`), so the
 * core decides what is valid JSON and drivers only store it.
 */
import type { ErrorInfo } from "./errors.ts";
import type { DriverMaintenance } from "./driver-maintenance.ts";

export type {
  DriverMaintenance,
  PruneCounts,
  PruneParams,
  RecurringDefinition,
  RecurringRecord,
  SemaphoreRecord,
} from "./driver-maintenance.ts";

export interface DriverCapabilities {
  /** LISTEN/NOTIFY style wake-ups across processes (PostgreSQL). */
  readonly listenNotify: boolean;
  /** Claims use FOR UPDATE SKIP LOCKED (so concurrent claimers do not wait on each other). */
  readonly skipLocked: boolean;
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
  | "cancelled";

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
}

export interface InsertedJob {
  id: string;
  status: JobStatus;
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
  /** Set by the worker: which claim of the job this is (see Outcome). */
  claim?: ClaimToken;
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
}

/**
 * What became of a claimed job. `retry` reschedules it (the error is kept);
 * `released` puts it back to ready without counting the attempt (shutdown).
 * With `claim`, the outcome applies only to that claim of the job: a write
 * retried after it had in fact committed must not land on a later claim of
 * the same job by the same process. Drivers may skip the check for
 * "succeeded": a committed success ends the job for good (finished or
 * deleted), so a repeated one can never meet a later claim.
 */
export type Outcome =
  & (
    | { id: string; kind: "succeeded"; returnValue: string }
    | { id: string; kind: "failed"; error: ErrorInfo }
    | { id: string; kind: "retry"; error: ErrorInfo; retryAt: Date }
    | { id: string; kind: "cancelled"; error: ErrorInfo }
    | { id: string; kind: "released" }
  )
  & { claim?: ClaimToken };

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
  paused: boolean;
  /** The oldest ready job's latency clock, or null when none is ready. */
  oldestReadyAt: Date | null;
  /** When the next scheduled job is due, or null. */
  nextScheduledAt: Date | null;
}

/** A claimed job whose process is gone (the same fields as a fresh claim). */
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

export interface Driver extends DriverMaintenance {
  readonly dialect: "sqlite" | "postgres" | "mysql";
  readonly capabilities: DriverCapabilities;

  /** Creates or upgrades the tables; idempotent; returns the versions it applied. */
  migrate(): Promise<number[]>;
  close(): Promise<void>;

  /**
   * Inserts jobs and their first state row in one round trip per batch. With `tx`
   * (the client's own transaction object) the rows commit or roll back with it.
   */
  jobsInsert(p: { backend: string; jobs: NewJob[]; now: Date; tx?: unknown }): Promise<InsertedJob[]>;
  jobGet(p: { backend: string; id: string }): Promise<JobRecord | null>;
  /**
   * Moves up to `limit` ready jobs to claimed for `processId`, in selector order,
   * then priority (high first), then age; paused queues are excluded inside the
   * same transaction. Increments attempts.
   */
  jobsClaim(p: {
    backend: string;
    processId: string;
    selectors: QueueSelector[];
    limit: number;
    now: Date;
  }): Promise<ClaimedJob[]>;
  /**
   * Applies outcomes to jobs claimed by `processId`; an outcome for a job this
   * process no longer holds is ignored. `processId: null` applies to claims
   * with no live process (orphans). Returns the ids that were applied.
   */
  jobsFinish(p: {
    backend: string;
    processId: string | null;
    outcomes: Outcome[];
    preserveFinished: boolean;
    now: Date;
  }): Promise<string[]>;
  /** Scheduled jobs due by `now` become ready, at most `limit`; returns the queues touched and count. */
  jobsPromoteDue(p: { backend: string; limit: number; now: Date }): Promise<{ count: number; queues: string[] }>;
  /** Failed jobs back to ready (all failed ones matching `ids` or `filter`); returns how many. */
  jobsRetry(p: { backend: string; ids?: string[]; filter?: JobFilter; now: Date }): Promise<number>;
  /**
   * Discards jobs that are ready, scheduled, blocked or failed (kept as finished rows
   * with status "discarded"). With `ids`, returns each id's status before the call
   * (absent when not found) so the core can report running ones.
   */
  jobsDiscard(p: {
    backend: string;
    ids?: string[];
    filter?: JobFilter;
    now: Date;
  }): Promise<{ discarded: number; statuses: Map<string, JobStatus> }>;
  /**
   * Cancels a job: a waiting one becomes "cancelled" at once; a running one is
   * flagged so its runner aborts it. Returns the status before the call, or null.
   */
  jobCancel(p: { backend: string; id: string; now: Date }): Promise<JobStatus | null>;
  /** Of the given running job ids, those whose cancellation was requested. */
  jobsCancelRequested(p: { backend: string; ids: string[] }): Promise<string[]>;

  queuePause(p: { backend: string; queue: string; now: Date }): Promise<void>;
  /** Removes the pause and shifts the queue's ready latency clocks by the paused time. */
  queueResume(p: { backend: string; queue: string; now: Date }): Promise<void>;
  queueIsPaused(p: { backend: string; queue: string }): Promise<boolean>;
  /** Removes the queue's ready jobs; returns how many. */
  queueClear(p: { backend: string; queue: string }): Promise<number>;
  /** Every queue with live jobs or a pause, with counts; or just `queue`. */
  queuesInfo(p: { backend: string; queue?: string }): Promise<QueueInfo[]>;

  /** Jobs in one status, newest first; `before` pages by id. */
  jobsList(p: { backend: string; status: JobStatus; queue?: string; limit: number; before?: string }): Promise<JobSummary[]>;
  /** Counts of failed jobs by queue. */
  jobsFailedCounts(p: { backend: string }): Promise<Map<string, number>>;
  processesList(p: { backend: string }): Promise<ProcessRecord[]>;

  processRegister(p: { backend: string; id: string; info: ProcessInfo; now: Date }): Promise<void>;
  /** Refreshes the heartbeat; false when the row is gone (the runner registers again). */
  processHeartbeat(p: { backend: string; id: string; now: Date }): Promise<boolean>;
  /** Deletes the row; claims still pointing at it lose their process (process_id null). */
  processDeregister(p: { backend: string; id: string }): Promise<void>;
  /**
   * Deletes the backend's processes whose heartbeat is older than `staleBefore`,
   * and those of `deadIds` whatever their heartbeat (known dead: a pid gone on
   * this host), never one of `exceptIds` (the caller and its live runners), in
   * one transaction; their claims lose their process. Returns the pruned ids
   * and the jobs they held, for the core to fail.
   */
  processesPruneStale(p: { backend: string; staleBefore: Date; exceptIds?: string[]; deadIds?: string[] }): Promise<{
    pruned: string[];
    claims: OrphanClaim[];
  }>;
  /** Claims of the backend with no live process row behind them. */
  claimsOrphaned(p: { backend: string }): Promise<OrphanClaim[]>;
  /** The claims `processId` holds (a worker compares them with what it runs). */
  claimsHeld(p: { backend: string; processId: string }): Promise<HeldClaim[]>;

  /**
   * Wake-ups from other processes, where `capabilities.listenNotify` (PostgreSQL
   * LISTEN/NOTIFY). Calls `onWake` with queues of `backend` that got ready jobs,
   * after the transaction that made them visible committed. Best effort — a
   * dropped connection loses wake-ups until it is back — so polling stays the
   * correctness path. Resolves once listening; the returned function stops it.
   */
  listen?(p: { backend: string; onWake: (queues: string[]) => void }): Promise<() => Promise<void>>;
}

/** What a driver module exports: a factory taking the URL and the options for it. */
export interface DriverOptions {
  url: string;
  /** Statement / busy timeout for the queue's own statements, in ms. */
  statementTimeoutMs?: number;
  /**
   * Send wake-ups to other processes when jobs become ready (PostgreSQL
   * NOTIFY; the other drivers have none). Default true; `listenNotify: false`
   * turns it off along with listening.
   */
  notify?: boolean;
}

export type DriverFactory = (options: DriverOptions) => Promise<Driver>;
