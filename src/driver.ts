/**
 * The driver boundary: everything the core asks of a database, and nothing
 * else (the row shapes it moves are in records.ts).
 *
 * Drivers (drivers/libsql, drivers/postgres, drivers/mysql) implement `Driver`
 * over their npm client and own all SQL. A method is named noun first and
 * singular (`jobClaim`, `jobFinishMany`, `processRegister`), and the function
 * that implements it, in the shared engine (drivers/engine/) and in a
 * dialect's own statement, carries the same name in a file of that name.
 * Methods take one params object and receive `now` from the core, so that time
 * is injectable in tests. Every method that touches control rows is scoped by
 * `backend`.
 */
import type {
  ClaimedJob,
  ClaimToken,
  DriverCapabilities,
  HeldClaim,
  InsertedJob,
  JobFilter,
  JobQuery,
  JobRecord,
  JobStatus,
  JobSummary,
  NewJob,
  OrphanClaim,
  Outcome,
  ProcessInfo,
  ProcessRecord,
  PruneCounts,
  PruneParams,
  QueueInfo,
  QueueSelector,
  RecurringDefinition,
  RecurringRecord,
  SemaphoreRecord,
} from "./records.ts";

export interface Driver {
  readonly dialect: "sqlite" | "postgres" | "mysql";
  readonly capabilities: DriverCapabilities;

  /** Creates or upgrades the tables; idempotent; returns the versions it applied. */
  migrate(): Promise<number[]>;
  close(): Promise<void>;

  /**
   * Inserts jobs and their first state row in one round trip per batch. With `tx`
   * (the client's own transaction object) the rows commit or roll back with it.
   */
  jobInsertMany(p: { backend: string; jobs: NewJob[]; now: Date; tx?: unknown }): Promise<InsertedJob[]>;
  jobGet(p: { backend: string; id: string }): Promise<JobRecord | null>;
  /**
   * Moves up to `limit` ready jobs to claimed for `processId`, in selector order,
   * then priority (high first), then age; paused queues are excluded inside the
   * same transaction. Increments attempts. Each job comes back with its claim
   * token (the attempt, and `now` as the claim's start), for its outcome to name.
   */
  jobClaim(p: {
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
  jobFinishMany(p: {
    backend: string;
    processId: string | null;
    outcomes: Outcome[];
    preserveFinished: boolean;
    now: Date;
    /** The client's transaction (transactionRun): the outcomes commit or roll back with it. */
    tx?: unknown;
  }): Promise<string[]>;
  /**
   * Runs `fn` in a transaction of the driver's own client, passing the
   * client's transaction object (what `tx` options take: a postgres.js
   * transaction, a libSQL Transaction, a mysql2 connection in a transaction);
   * commits when `fn` resolves, rolls back when it throws (DESIGN §11,
   * transactional tasks).
   */
  transactionRun<T>(p: { fn: (tx: unknown) => Promise<T> }): Promise<T>;
  /** Scheduled jobs due by `now` become ready, at most `limit`; returns the queues touched and count. */
  jobPromoteDue(p: { backend: string; limit: number; now: Date }): Promise<{ count: number; queues: string[] }>;
  /**
   * Failed jobs back to ready (all failed ones matching `ids` or `filter`);
   * returns how many, and the queues that got ready jobs (a retried job may be
   * blocked behind its concurrency key instead). A job whose unique key
   * another job holds, waiting or running, stays failed and is named in `taken`.
   */
  jobRetryMany(p: { backend: string; ids?: string[]; filter?: JobFilter; now: Date }): Promise<{
    count: number;
    queues: string[];
    taken?: Array<{ id: string; key: string; holderId: string }>;
  }>;
  /**
   * Discards jobs that are ready, scheduled, blocked or failed (kept as finished rows
   * with status "discarded"). With `ids`, returns each id's status before the call
   * (absent when not found) so the core can report running ones.
   */
  jobDiscardMany(p: {
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
  jobCancelRequested(p: { backend: string; ids: string[] }): Promise<string[]>;

  queuePause(p: { backend: string; queue: string; now: Date }): Promise<void>;
  /** Removes the pause and shifts the queue's ready latency clocks by the paused time. */
  queueResume(p: { backend: string; queue: string; now: Date }): Promise<void>;
  queueIsPaused(p: { backend: string; queue: string }): Promise<boolean>;
  /** Removes the queue's ready jobs; returns how many. */
  queueClear(p: { backend: string; queue: string; now: Date }): Promise<number>;
  /** Every queue with live jobs or a pause, with counts; or just `queue`. */
  queueList(p: { backend: string; queue?: string }): Promise<QueueInfo[]>;
  /**
   * Jobs waiting to run (ready, scheduled, blocked) by queue, of `queues` or of
   * every queue that has some; a queue with none is absent. With `dueBy`,
   * scheduled jobs due after it are left out.
   */
  queueDepth(p: { backend: string; queues?: string[]; dueBy?: Date }): Promise<Map<string, number>>;

  /** Jobs matching `query` (any status when it names none), newest first; `before` pages by id. */
  jobList(p: { backend: string } & JobQuery): Promise<JobSummary[]>;

  /**
   * The stored results of a job's durable steps, by name (JSON text): what
   * ctx.step, ctx.sleep and ctx.spawn recorded (DESIGN §10).
   */
  stepList(p: { backend: string; jobId: string }): Promise<Map<string, string>>;
  /**
   * Stores `value` (JSON text) under `name` for the job `processId` holds with
   * `claim`, unless a value is stored under that name already; with `child`,
   * inserts that job as well (its parentId is `jobId`), in the same
   * transaction, so a spawn is recorded exactly once. Returns the value now
   * stored under the name (the earlier one if there was one; its child was
   * not inserted again), or null when the claim is no longer held (nothing
   * written).
   */
  stepSave(p: {
    backend: string;
    processId: string;
    jobId: string;
    claim: ClaimToken;
    name: string;
    value: string;
    child?: NewJob;
    now: Date;
  }): Promise<string | null>;
  /**
   * Stores `value` (JSON text) as the latest progress of the job `processId`
   * holds with `claim` (ctx.progress, DESIGN §12); false when the claim is no
   * longer held (nothing written; MySQL also says false for an unchanged row).
   */
  jobProgress(
    p: { backend: string; processId: string; jobId: string; claim: ClaimToken; value: string; now: Date },
  ): Promise<boolean>;
  /** Counts of failed jobs by queue. */
  jobFailedCount(p: { backend: string }): Promise<Map<string, number>>;
  processList(p: { backend: string }): Promise<ProcessRecord[]>;

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
  processPruneStale(p: { backend: string; staleBefore: Date; exceptIds?: string[]; deadIds?: string[] }): Promise<{
    pruned: string[];
    claims: OrphanClaim[];
  }>;
  /** Claims of the backend with no live process row behind them. */
  claimListOrphaned(p: { backend: string }): Promise<OrphanClaim[]>;
  /** The claims `processId` holds (a worker compares them with what it runs). */
  claimListHeld(p: { backend: string; processId: string }): Promise<HeldClaim[]>;

  /**
   * Deletes semaphores whose lease ran out (database-wide) and promotes the
   * backend's blocked jobs that can get a slot, at most `limit` of each per call.
   */
  concurrencyMaintain(p: { backend: string; limit: number; now: Date }): Promise<{
    expired: number;
    promoted: number;
    queues: string[];
  }>;
  /** Semaphores of the whole database, fullest first. */
  semaphoreList(p: { limit: number }): Promise<SemaphoreRecord[]>;

  /**
   * Makes the backend's static recurring rows match `tasks`: inserts new keys,
   * updates changed ones (keeping next_run_at unless cron or time zone changed),
   * leaves unchanged rows untouched, deletes static keys no longer listed.
   * `nextRunAt` maps each key to its next slot from now.
   */
  recurringSync(p: {
    backend: string;
    tasks: RecurringDefinition[];
    nextRunAt: Map<string, Date | null>;
    now: Date;
  }): Promise<{ inserted: number; updated: number; deleted: number }>;
  /** Creates or updates a dynamic task; "static" (and no write) when the key is a static task's. */
  recurringUpsert(p: {
    backend: string;
    task: RecurringDefinition;
    nextRunAt: Date | null;
    now: Date;
  }): Promise<"inserted" | "updated" | "static">;
  recurringDelete(p: { backend: string; key: string }): Promise<number>; // dynamic only; 0 for static
  recurringList(p: { backend: string }): Promise<RecurringRecord[]>;
  /** Tasks whose next slot is due by `now` (static ones only unless `dynamic`). */
  recurringDue(p: { backend: string; now: Date; dynamic: boolean }): Promise<RecurringRecord[]>;
  /**
   * Reserves the slot (backend, key, runAt) for `jobId`, or finds the existing
   * reservation. `pending` is true when the slot's job is still to be enqueued:
   * the reservation is new, or an earlier reserver stopped before enqueueing
   * (then `jobId` is the id that reservation recorded).
   */
  recurringReserve(p: { backend: string; key: string; runAt: Date; jobId: string; now: Date }): Promise<{
    jobId: string;
    pending: boolean;
  }>;
  /**
   * Enqueues the reserved slot's job (its id is the reservation's) and moves the
   * task to `nextRunAt`, in one transaction; null when the slot's job was already
   * enqueued or the task is gone. With `job: null` the slot is skipped.
   */
  recurringEnqueue(p: {
    backend: string;
    key: string;
    runAt: Date;
    job: NewJob | null;
    nextRunAt: Date | null;
    now: Date;
  }): Promise<InsertedJob | null>;

  /**
   * Deletes, at most `batchSize` of each per call: finished jobs (succeeded,
   * discarded, cancelled) finished before `finishedBefore`, failed ones before
   * `failedBefore` (both optionally of one `task`), and recurring reservations
   * made before `recurringBefore` (optionally of one `taskKey`). Null skips a category.
   */
  retentionPrune(p: PruneParams): Promise<PruneCounts>;

  /**
   * Wake-ups from other processes, where the database has them (PostgreSQL
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

/**
 * What a driver factory is given to open the database at `url` (drivers/connect.ts,
 * bound by mod.ts for createStint and by client.ts for createClient).
 */
export interface ConnectOptions {
  url: string;
  statementTimeoutMs: number;
  /** Whether the driver may listen for the database's notifications (listenNotify). */
  notify: boolean;
}
