/**
 * The driver boundary's maintenance half: what concurrency maintenance, the
 * scheduler and prune() ask of a database (src/driver.ts has the rest; it
 * re-exports these types, so importers keep using it).
 */
import type { InsertedJob, NewJob } from "./driver.ts";

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

/** Concurrency, recurring tasks and retention: what maintenance, the scheduler and prune() use. */
export interface DriverMaintenance {
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
  semaphoresList(p: { limit: number }): Promise<SemaphoreRecord[]>;

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
  jobsPrune(p: PruneParams): Promise<PruneCounts>;
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
