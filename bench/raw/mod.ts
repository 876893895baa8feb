/**
 * The raw-SQL ceiling: the same rows Stint writes, as bare statements through
 * the same npm client, on the same stint_ tables (migrated by Stint itself, so
 * the indexes, foreign keys and durability settings are identical). One module
 * per client; loaded lazily so a libSQL run never loads postgres or mysql2.
 */

export interface RawJob {
  id: string;
  task: string;
  queue: string;
  priority: number;
  /** JSON text */
  payload: string;
}

export interface RawClaimed {
  id: string;
  task: string;
  /** JSON text */
  payload: string;
}

export interface RawQueue {
  readonly name: string;
  /** Completion may overlap the next claim (pooled clients); SQLite has one writer. */
  readonly pipelined: boolean;
  /** The consumer can LISTEN for the producer's NOTIFY (PostgreSQL). */
  readonly canNotify: boolean;
  /** Durability settings that decide commit cost, for the report header. */
  describe(): Promise<string>;
  /** A process row, so claimed rows carry a real process_id (its foreign key is checked). */
  processRegister(backend: string): Promise<string>;
  /** One job row and its ready row in one transaction (with `notify`, a NOTIFY sent on commit). */
  insertOne(backend: string, job: RawJob, now: number, notify?: boolean): Promise<void>;
  /** Many jobs in one transaction: one multi-row INSERT per table. */
  insertMany(backend: string, jobs: RawJob[], now: number): Promise<void>;
  /** select + delete ready + insert claimed + update jobs, in one write transaction. */
  claim(backend: string, processId: string, limit: number, now: number): Promise<RawClaimed[]>;
  /** Deletes finished jobs (claimed rows, then job rows) in one transaction. */
  complete(ids: string[]): Promise<void>;
  /** Calls `onWake` on each NOTIFY; returns the unlisten function. */
  listen?(onWake: () => void): Promise<() => Promise<void>>;
  /** Removes every row of `backend` (for runs that share a database). */
  cleanup(backend: string): Promise<void>;
  close(): Promise<void>;
}

export const JOB_COLUMNS = [
  "id",
  "backend",
  "task",
  "queue",
  "priority",
  "payload",
  "status",
  "concurrency_key",
  "concurrency_limit",
  "concurrency_duration_ms",
  "concurrency_on_conflict",
  "attempts",
  "scheduled_at",
  "created_at",
  "updated_at",
];
export const READY_COLUMNS = ["job_id", "backend", "queue", "priority", "latency_started_at", "created_at"];
export const CLAIMED_COLUMNS = ["job_id", "backend", "process_id", "attempt", "started_at", "created_at"];
export const PROCESS_COLUMNS = [
  "id",
  "backend",
  "kind",
  "name",
  "pid",
  "hostname",
  "metadata",
  "supervisor_id",
  "supervisor_key",
  "last_heartbeat_at",
  "created_at",
];
/** Child tables first, so cleanup works with or without cascading foreign keys. */
export const CLEANUP_TABLES = [
  "stint_ready_executions",
  "stint_claimed_executions",
  "stint_scheduled_executions",
  "stint_blocked_executions",
  "stint_failed_executions",
  "stint_job_errors",
  "stint_jobs",
  "stint_processes",
];

/** The parameters of one stint_jobs row, in JOB_COLUMNS order (a ready job, as Stint writes it). */
export function jobParams(backend: string, job: RawJob, now: number): Array<string | number | null> {
  return [
    job.id,
    backend,
    job.task,
    job.queue,
    job.priority,
    job.payload,
    "ready",
    null,
    null,
    null,
    null,
    0,
    now,
    now,
    now,
  ];
}

export function readyParams(backend: string, job: RawJob, now: number): Array<string | number> {
  return [job.id, backend, job.queue, job.priority, now, now];
}

export function processParams(backend: string, id: string): Array<string | number | null> {
  const now = Date.now();
  return [id, backend, "worker", `raw-${id.slice(0, 8)}`, null, null, "{}", null, "", now, now];
}

/** `(?, ?, ?)` repeated `rows` times. */
export function valuesList(columns: number, rows: number): string {
  const one = `(${new Array(columns).fill("?").join(", ")})`;
  return new Array(rows).fill(one).join(", ");
}

export function placeholders(count: number): string {
  return new Array(count).fill("?").join(", ");
}

export async function openRaw(url: string): Promise<RawQueue> {
  const scheme = url.slice(0, url.indexOf(":")).toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") return await (await import("./postgres.ts")).openPostgres(url);
  if (scheme === "mysql" || scheme === "mariadb") {
    return (await import("./mysql.ts")).openMysql(url.replace(/^mariadb:/i, "mysql:"));
  }
  return (await import("./libsql.ts")).openLibsql(url);
}
