/**
 * SQLite / libSQL schema. Version numbers are the same in every dialect; the
 * full schema of DESIGN §4 is version 1, so later features add no ad-hoc columns.
 * Times are INTEGER milliseconds since the epoch; JSON is TEXT.
 */
import type { Migration } from "../engine/access.ts";
import { CLAIM_ATTEMPT_BACKFILL } from "../engine/migrations.ts";

export const migrations: Migration[] = [
  {
    version: 1,
    name: "create stint tables",
    statements: [
      `CREATE TABLE stint_jobs (
        id TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        task TEXT NOT NULL,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        concurrency_key TEXT,
        concurrency_limit INTEGER,
        concurrency_duration_ms INTEGER,
        concurrency_on_conflict TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        return_value TEXT,
        cancel_requested_at INTEGER,
        scheduled_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE INDEX stint_jobs_retention ON stint_jobs (backend, status, finished_at)`,
      `CREATE INDEX stint_jobs_task ON stint_jobs (backend, task, finished_at)`,
      `CREATE TABLE stint_ready_executions (
        job_id TEXT PRIMARY KEY REFERENCES stint_jobs (id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL,
        latency_started_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX stint_ready_poll ON stint_ready_executions (backend, queue, priority DESC, job_id)`,
      `CREATE INDEX stint_ready_poll_all ON stint_ready_executions (backend, priority DESC, job_id)`,
      `CREATE TABLE stint_scheduled_executions (
        job_id TEXT PRIMARY KEY REFERENCES stint_jobs (id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL,
        scheduled_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX stint_scheduled_due ON stint_scheduled_executions (backend, scheduled_at, priority DESC, job_id)`,
      `CREATE TABLE stint_processes (
        id TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        pid INTEGER,
        hostname TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        supervisor_id TEXT,
        supervisor_key TEXT NOT NULL DEFAULT '',
        last_heartbeat_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      )`,
      `CREATE UNIQUE INDEX stint_processes_name ON stint_processes (backend, name, supervisor_key)`,
      `CREATE INDEX stint_processes_heartbeat ON stint_processes (backend, last_heartbeat_at)`,
      `CREATE INDEX stint_processes_supervisor ON stint_processes (supervisor_id)`,
      `CREATE TABLE stint_claimed_executions (
        job_id TEXT PRIMARY KEY REFERENCES stint_jobs (id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        process_id TEXT REFERENCES stint_processes (id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX stint_claimed_process ON stint_claimed_executions (process_id)`,
      `CREATE INDEX stint_claimed_backend ON stint_claimed_executions (backend)`,
      `CREATE TABLE stint_blocked_executions (
        job_id TEXT PRIMARY KEY REFERENCES stint_jobs (id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL,
        concurrency_key TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX stint_blocked_key ON stint_blocked_executions (concurrency_key, priority DESC, job_id)`,
      `CREATE INDEX stint_blocked_expiry ON stint_blocked_executions (expires_at, concurrency_key)`,
      `CREATE TABLE stint_failed_executions (
        job_id TEXT PRIMARY KEY REFERENCES stint_jobs (id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        error_name TEXT NOT NULL,
        error_message TEXT NOT NULL,
        error_stack TEXT,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX stint_failed_backend ON stint_failed_executions (backend, created_at)`,
      `CREATE TABLE stint_job_errors (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL REFERENCES stint_jobs (id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        error_name TEXT NOT NULL,
        error_message TEXT NOT NULL,
        error_stack TEXT,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX stint_job_errors_job ON stint_job_errors (job_id)`,
      `CREATE TABLE stint_pauses (
        backend TEXT NOT NULL,
        queue TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (backend, queue)
      )`,
      `CREATE TABLE stint_semaphores (
        semaphore_key TEXT PRIMARY KEY,
        value INTEGER NOT NULL,
        limit_value INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE INDEX stint_semaphores_expiry ON stint_semaphores (expires_at)`,
      `CREATE TABLE stint_recurring_tasks (
        backend TEXT NOT NULL,
        task_key TEXT NOT NULL,
        task TEXT NOT NULL,
        cron TEXT NOT NULL,
        time_zone TEXT,
        payload TEXT NOT NULL DEFAULT 'null',
        queue TEXT,
        priority INTEGER,
        description TEXT,
        is_static INTEGER NOT NULL DEFAULT 1,
        last_run_at INTEGER,
        next_run_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (backend, task_key)
      )`,
      `CREATE TABLE stint_recurring_executions (
        backend TEXT NOT NULL,
        task_key TEXT NOT NULL,
        run_at INTEGER NOT NULL,
        job_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
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
      `ALTER TABLE stint_claimed_executions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1`,
      `ALTER TABLE stint_claimed_executions ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0`,
      ...CLAIM_ATTEMPT_BACKFILL,
    ],
  },
  {
    // One migration for the release's new capabilities (DESIGN §10–§13), planned together:
    // multi-step jobs (workspace, step, parent_id, wait_count, awaited, stint_steps), unique
    // jobs and delivery (unique_key, delivery, stint_job_keys), flow control (progress,
    // rate_key/limit/per, group_key, stint_rate_slots, stint_key_holds) and tracing (traceparent).
    version: 3,
    name: "multi-step jobs, unique keys, flow control",
    statements: [
      `ALTER TABLE stint_jobs ADD COLUMN workspace TEXT`,
      `ALTER TABLE stint_jobs ADD COLUMN step TEXT`,
      `ALTER TABLE stint_jobs ADD COLUMN parent_id TEXT`,
      `ALTER TABLE stint_jobs ADD COLUMN wait_count INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE stint_jobs ADD COLUMN awaited INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE stint_jobs ADD COLUMN unique_key TEXT`,
      `ALTER TABLE stint_jobs ADD COLUMN delivery TEXT`,
      `ALTER TABLE stint_jobs ADD COLUMN progress TEXT`,
      `ALTER TABLE stint_jobs ADD COLUMN progress_at INTEGER`,
      `ALTER TABLE stint_jobs ADD COLUMN rate_key TEXT`,
      `ALTER TABLE stint_jobs ADD COLUMN rate_limit INTEGER`,
      `ALTER TABLE stint_jobs ADD COLUMN rate_per_ms INTEGER`,
      `ALTER TABLE stint_jobs ADD COLUMN group_key TEXT`,
      `ALTER TABLE stint_jobs ADD COLUMN traceparent TEXT`,
      `CREATE INDEX stint_jobs_parent ON stint_jobs (parent_id)`,
      `ALTER TABLE stint_ready_executions ADD COLUMN rate_key TEXT`,
      `ALTER TABLE stint_ready_executions ADD COLUMN group_key TEXT`,
      `CREATE TABLE stint_steps (
        job_id TEXT NOT NULL REFERENCES stint_jobs (id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, name)
      )`,
      `CREATE TABLE stint_job_keys (
        backend TEXT NOT NULL,
        unique_key TEXT NOT NULL,
        job_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (backend, unique_key)
      )`,
      `CREATE INDEX stint_job_keys_job ON stint_job_keys (job_id)`,
      `CREATE TABLE stint_rate_slots (
        rate_key TEXT NOT NULL,
        slot INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        PRIMARY KEY (rate_key, slot)
      )`,
      `CREATE TABLE stint_key_holds (
        hold_key TEXT PRIMARY KEY,
        until_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      )`,
    ],
  },
];
