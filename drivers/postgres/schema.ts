/**
 * PostgreSQL schema. Version numbers are the same in every dialect, and the
 * tables and columns are drivers/libsql/schema.ts's, in PostgreSQL types:
 * times are BIGINT milliseconds since the epoch, JSON is TEXT (stored as given,
 * returned as the same text; the core validates it), job ids are `uuid` (UUIDv7,
 * whose byte order is its text order, so ORDER BY id is still "oldest first").
 * Process ids stay TEXT: they are opaque to the queue.
 *
 * Differences from the SQLite schema, all for the hot path:
 * - No foreign keys. PostgreSQL checks and cascades them one row at a time
 *   with a trigger: measured on the claim and finish of 10 jobs, the triggers
 *   took half of the claim's time and 85% of the finish's (six cascades per
 *   deleted job). The shared engine already deletes a job's state rows itself
 *   whenever it moves or deletes a job, and deregistering a process clears its
 *   claims' process_id itself, so nothing relies on them; any new code that
 *   deletes jobs must delete their state rows and their stint_job_errors rows
 *   explicitly, as drivers/engine does.
 * - The retention and task indexes hold finished jobs only (what retention,
 *   retryAll and discardAll look up by them), and `status` is in no index: an
 *   enqueue writes one index entry fewer. A claim does not write the job's row
 *   at all (version 2): the attempt and its start go on the claimed row.
 * - Autovacuum runs without cost-based sleeps on the churning tables. While a
 *   vacuum or analyze holds an old snapshot, the rows that claims deleted stay
 *   in the indexes as not-yet-dead, and every claim re-checks them all in the
 *   heap: a slow autovacuum made drains measurably slower (several-fold, once).
 * - The ready and claimed tables are never truncated by VACUUM: truncation
 *   takes an exclusive lock, which would stall every claimer at the moment a
 *   drained queue's table shrinks.
 * - stint_claimed_executions has no secondary indexes: it holds only the jobs
 *   running right now, so its rare scans by process or backend are cheap, while
 *   every claim would pay for two more index entries per job.
 */
import type { Migration } from "../engine/access.ts";
import { CLAIM_ATTEMPT_BACKFILL } from "../engine/migrations.ts";

export const migrations: Migration[] = [
  {
    version: 1,
    name: "create stint tables",
    statements: [
      `CREATE TABLE stint_jobs (
        id uuid PRIMARY KEY,
        backend text NOT NULL,
        task text NOT NULL,
        queue text NOT NULL,
        priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
        payload text NOT NULL,
        status text NOT NULL,
        concurrency_key text,
        concurrency_limit integer,
        concurrency_duration_ms bigint,
        concurrency_on_conflict text,
        attempts integer NOT NULL DEFAULT 0,
        return_value text,
        cancel_requested_at bigint,
        scheduled_at bigint NOT NULL,
        started_at bigint,
        finished_at bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      ) WITH (fillfactor = 85, autovacuum_vacuum_cost_delay = 0)`,
      `CREATE INDEX stint_jobs_retention ON stint_jobs (backend, finished_at) WHERE finished_at IS NOT NULL`,
      `CREATE INDEX stint_jobs_task ON stint_jobs (backend, task, finished_at) WHERE finished_at IS NOT NULL`,
      `CREATE TABLE stint_ready_executions (
        job_id uuid PRIMARY KEY,
        backend text NOT NULL,
        queue text NOT NULL,
        priority integer NOT NULL,
        latency_started_at bigint NOT NULL,
        created_at bigint NOT NULL
      ) WITH (fillfactor = 90, vacuum_truncate = false, autovacuum_vacuum_cost_delay = 0)`,
      `CREATE INDEX stint_ready_poll ON stint_ready_executions (backend, queue, priority DESC, job_id)`,
      `CREATE INDEX stint_ready_poll_all ON stint_ready_executions (backend, priority DESC, job_id)`,
      `CREATE TABLE stint_scheduled_executions (
        job_id uuid PRIMARY KEY,
        backend text NOT NULL,
        queue text NOT NULL,
        priority integer NOT NULL,
        scheduled_at bigint NOT NULL,
        created_at bigint NOT NULL
      ) WITH (autovacuum_vacuum_cost_delay = 0)`,
      `CREATE INDEX stint_scheduled_due ON stint_scheduled_executions (backend, scheduled_at, priority DESC, job_id)`,
      `CREATE TABLE stint_processes (
        id text PRIMARY KEY,
        backend text NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        pid integer,
        hostname text,
        metadata text NOT NULL DEFAULT '{}',
        supervisor_id text,
        supervisor_key text NOT NULL DEFAULT '',
        last_heartbeat_at bigint NOT NULL,
        created_at bigint NOT NULL
      ) WITH (fillfactor = 70)`,
      `CREATE UNIQUE INDEX stint_processes_name ON stint_processes (backend, name, supervisor_key)`,
      `CREATE INDEX stint_processes_heartbeat ON stint_processes (backend, last_heartbeat_at)`,
      `CREATE INDEX stint_processes_supervisor ON stint_processes (supervisor_id)`,
      `CREATE TABLE stint_claimed_executions (
        job_id uuid PRIMARY KEY,
        backend text NOT NULL,
        process_id text,
        created_at bigint NOT NULL
      ) WITH (fillfactor = 90, vacuum_truncate = false, autovacuum_vacuum_cost_delay = 0)`,
      `CREATE TABLE stint_blocked_executions (
        job_id uuid PRIMARY KEY,
        backend text NOT NULL,
        queue text NOT NULL,
        priority integer NOT NULL,
        concurrency_key text NOT NULL,
        expires_at bigint NOT NULL,
        created_at bigint NOT NULL
      )`,
      `CREATE INDEX stint_blocked_key ON stint_blocked_executions (concurrency_key, priority DESC, job_id)`,
      `CREATE INDEX stint_blocked_expiry ON stint_blocked_executions (expires_at, concurrency_key)`,
      `CREATE TABLE stint_failed_executions (
        job_id uuid PRIMARY KEY,
        backend text NOT NULL,
        error_name text NOT NULL,
        error_message text NOT NULL,
        error_stack text,
        created_at bigint NOT NULL
      )`,
      `CREATE INDEX stint_failed_backend ON stint_failed_executions (backend, created_at)`,
      `CREATE TABLE stint_job_errors (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id uuid NOT NULL,
        backend text NOT NULL,
        attempt integer NOT NULL,
        error_name text NOT NULL,
        error_message text NOT NULL,
        error_stack text,
        created_at bigint NOT NULL
      )`,
      `CREATE INDEX stint_job_errors_job ON stint_job_errors (job_id)`,
      `CREATE TABLE stint_pauses (
        backend text NOT NULL,
        queue text NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (backend, queue)
      )`,
      `CREATE TABLE stint_semaphores (
        semaphore_key text PRIMARY KEY,
        value integer NOT NULL,
        limit_value integer NOT NULL,
        expires_at bigint NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      ) WITH (fillfactor = 70)`,
      `CREATE INDEX stint_semaphores_expiry ON stint_semaphores (expires_at)`,
      `CREATE TABLE stint_recurring_tasks (
        backend text NOT NULL,
        task_key text NOT NULL,
        task text NOT NULL,
        cron text NOT NULL,
        time_zone text,
        payload text NOT NULL DEFAULT 'null',
        queue text,
        priority integer,
        description text,
        is_static integer NOT NULL DEFAULT 1,
        last_run_at bigint,
        next_run_at bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (backend, task_key)
      )`,
      `CREATE TABLE stint_recurring_executions (
        backend text NOT NULL,
        task_key text NOT NULL,
        run_at bigint NOT NULL,
        job_id uuid NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (backend, task_key, run_at)
      )`,
      `CREATE INDEX stint_recurring_executions_job ON stint_recurring_executions (job_id)`,
      `CREATE INDEX stint_recurring_executions_age ON stint_recurring_executions (backend, created_at)`,
    ],
  },
  {
    version: 2,
    name: "claims record their attempt",
    statements: [
      `ALTER TABLE stint_claimed_executions ADD COLUMN attempt integer NOT NULL DEFAULT 1,
        ADD COLUMN started_at bigint NOT NULL DEFAULT 0`,
      ...CLAIM_ATTEMPT_BACKFILL,
    ],
  },
  {
    // One migration for the release's new capabilities (DESIGN §10–§13); see drivers/libsql/schema.ts.
    // No foreign key on stint_steps (see above): code that deletes jobs deletes their steps too.
    version: 3,
    name: "multi-step jobs, unique keys, flow control",
    statements: [
      `ALTER TABLE stint_jobs ADD COLUMN workspace text, ADD COLUMN step text, ADD COLUMN parent_id uuid,
        ADD COLUMN wait_count integer NOT NULL DEFAULT 0, ADD COLUMN awaited smallint NOT NULL DEFAULT 0,
        ADD COLUMN unique_key text, ADD COLUMN delivery text, ADD COLUMN progress text, ADD COLUMN progress_at bigint,
        ADD COLUMN rate_key text, ADD COLUMN rate_limit integer, ADD COLUMN rate_per_ms bigint,
        ADD COLUMN group_key text, ADD COLUMN traceparent text`,
      `CREATE INDEX stint_jobs_parent ON stint_jobs (parent_id) WHERE parent_id IS NOT NULL`,
      `ALTER TABLE stint_ready_executions ADD COLUMN rate_key text, ADD COLUMN group_key text`,
      `CREATE TABLE stint_steps (
        job_id uuid NOT NULL,
        backend text NOT NULL,
        name text NOT NULL,
        value text NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (job_id, name)
      )`,
      `CREATE TABLE stint_job_keys (
        backend text NOT NULL,
        unique_key text NOT NULL,
        job_id uuid NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (backend, unique_key)
      )`,
      `CREATE INDEX stint_job_keys_job ON stint_job_keys (job_id)`,
      `CREATE TABLE stint_rate_slots (
        rate_key text NOT NULL,
        slot integer NOT NULL,
        started_at bigint NOT NULL,
        PRIMARY KEY (rate_key, slot)
      )`,
      `CREATE TABLE stint_key_holds (
        hold_key text PRIMARY KEY,
        until_at bigint NOT NULL,
        created_at bigint NOT NULL
      )`,
    ],
  },
];
