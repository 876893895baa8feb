/**
 * MySQL 8 / MariaDB 10.6+ schema: the same version numbers, tables, columns and
 * indexes as drivers/libsql/schema.ts, in MySQL types.
 *
 * MySQL DDL commits implicitly, so a migration cannot be rolled back half way.
 * Instead every statement is idempotent (CREATE TABLE IF NOT EXISTS, with the
 * indexes and foreign keys inside the CREATE so each table appears whole or not
 * at all; MySQL has no CREATE INDEX IF NOT EXISTS), and `migrate` runs under a
 * named lock (GET_LOCK) so two processes never interleave their DDL.
 *
 * Types, and why:
 * - ids are CHAR(36) ascii_bin: fixed width, 36 bytes in an index, and compared
 *   case-sensitively like the text ids of the other dialects.
 * - names are VARCHAR(255) utf8mb4_bin (binary: "Email" and "email" are two
 *   queues, as in PostgreSQL). Indexes are bounded by 3072 bytes and utf8mb4
 *   takes up to 4 bytes a character, so the widest key, (backend, name,
 *   supervisor_key) on processes, is 1020 + 2000 + 36 bytes. The core caps task,
 *   queue and backend names at 200 characters; process names get 500 because they
 *   embed a host name. Names never carry trailing spaces (the core rejects them),
 *   so utf8mb4_bin's PAD SPACE comparison never conflates two names.
 * - JSON, return values and error text are LONGTEXT: unindexed, and a value too
 *   long for its column would fail the statement that records a job's outcome.
 * - times are BIGINT milliseconds since the epoch, as everywhere.
 * - ROW_FORMAT=DYNAMIC is spelled out because the 3072-byte key limit needs it.
 */
import type { Migration } from "../engine/access.ts";
import { CLAIM_ATTEMPT_BACKFILL } from "../engine/migrations.ts";

const ID = "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin";
const NAME = "VARCHAR(255)";
const WORD = "VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin";
const TABLE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC";

export const migrations: Migration[] = [
  {
    version: 1,
    name: "create stint tables",
    statements: [
      `CREATE TABLE IF NOT EXISTS stint_jobs (
        id ${ID} NOT NULL PRIMARY KEY,
        backend ${NAME} NOT NULL,
        task ${NAME} NOT NULL,
        queue ${NAME} NOT NULL,
        priority SMALLINT NOT NULL DEFAULT 0,
        payload LONGTEXT NOT NULL,
        status ${WORD} NOT NULL,
        concurrency_key ${NAME} NULL,
        concurrency_limit INT NULL,
        concurrency_duration_ms BIGINT NULL,
        concurrency_on_conflict ${WORD} NULL,
        attempts INT NOT NULL DEFAULT 0,
        return_value LONGTEXT NULL,
        cancel_requested_at BIGINT NULL,
        scheduled_at BIGINT NOT NULL,
        started_at BIGINT NULL,
        finished_at BIGINT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        CONSTRAINT stint_jobs_priority CHECK (priority BETWEEN -100 AND 100),
        INDEX stint_jobs_retention (backend, status, finished_at),
        INDEX stint_jobs_task (backend, task, finished_at)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_ready_executions (
        job_id ${ID} NOT NULL PRIMARY KEY,
        backend ${NAME} NOT NULL,
        queue ${NAME} NOT NULL,
        priority SMALLINT NOT NULL,
        latency_started_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        INDEX stint_ready_poll (backend, queue, priority DESC, job_id),
        INDEX stint_ready_poll_all (backend, priority DESC, job_id),
        CONSTRAINT stint_ready_job FOREIGN KEY (job_id) REFERENCES stint_jobs (id) ON DELETE CASCADE
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_scheduled_executions (
        job_id ${ID} NOT NULL PRIMARY KEY,
        backend ${NAME} NOT NULL,
        queue ${NAME} NOT NULL,
        priority SMALLINT NOT NULL,
        scheduled_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        INDEX stint_scheduled_due (backend, scheduled_at, priority DESC, job_id),
        CONSTRAINT stint_scheduled_job FOREIGN KEY (job_id) REFERENCES stint_jobs (id) ON DELETE CASCADE
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_processes (
        id ${ID} NOT NULL PRIMARY KEY,
        backend ${NAME} NOT NULL,
        kind ${NAME} NOT NULL,
        name VARCHAR(500) NOT NULL,
        pid BIGINT NULL,
        hostname ${NAME} NULL,
        metadata LONGTEXT NOT NULL,
        supervisor_id ${ID} NULL,
        supervisor_key VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
        last_heartbeat_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE INDEX stint_processes_name (backend, name, supervisor_key),
        INDEX stint_processes_heartbeat (backend, last_heartbeat_at),
        INDEX stint_processes_supervisor (supervisor_id)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_claimed_executions (
        job_id ${ID} NOT NULL PRIMARY KEY,
        backend ${NAME} NOT NULL,
        process_id ${ID} NULL,
        created_at BIGINT NOT NULL,
        INDEX stint_claimed_process (process_id),
        INDEX stint_claimed_backend (backend),
        CONSTRAINT stint_claimed_job FOREIGN KEY (job_id) REFERENCES stint_jobs (id) ON DELETE CASCADE,
        CONSTRAINT stint_claimed_process_fk FOREIGN KEY (process_id) REFERENCES stint_processes (id) ON DELETE SET NULL
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_blocked_executions (
        job_id ${ID} NOT NULL PRIMARY KEY,
        backend ${NAME} NOT NULL,
        queue ${NAME} NOT NULL,
        priority SMALLINT NOT NULL,
        concurrency_key ${NAME} NOT NULL,
        expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        INDEX stint_blocked_key (concurrency_key, priority DESC, job_id),
        INDEX stint_blocked_expiry (expires_at, concurrency_key),
        CONSTRAINT stint_blocked_job FOREIGN KEY (job_id) REFERENCES stint_jobs (id) ON DELETE CASCADE
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_failed_executions (
        job_id ${ID} NOT NULL PRIMARY KEY,
        backend ${NAME} NOT NULL,
        error_name TEXT NOT NULL,
        error_message LONGTEXT NOT NULL,
        error_stack LONGTEXT NULL,
        created_at BIGINT NOT NULL,
        INDEX stint_failed_backend (backend, created_at),
        CONSTRAINT stint_failed_job FOREIGN KEY (job_id) REFERENCES stint_jobs (id) ON DELETE CASCADE
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_job_errors (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        job_id ${ID} NOT NULL,
        backend ${NAME} NOT NULL,
        attempt INT NOT NULL,
        error_name TEXT NOT NULL,
        error_message LONGTEXT NOT NULL,
        error_stack LONGTEXT NULL,
        created_at BIGINT NOT NULL,
        INDEX stint_job_errors_job (job_id),
        CONSTRAINT stint_job_errors_job_fk FOREIGN KEY (job_id) REFERENCES stint_jobs (id) ON DELETE CASCADE
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_pauses (
        backend ${NAME} NOT NULL,
        queue ${NAME} NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (backend, queue)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_semaphores (
        semaphore_key ${NAME} NOT NULL PRIMARY KEY,
        value INT NOT NULL,
        limit_value INT NOT NULL,
        expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        INDEX stint_semaphores_expiry (expires_at)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_recurring_tasks (
        backend ${NAME} NOT NULL,
        task_key ${NAME} NOT NULL,
        task ${NAME} NOT NULL,
        cron ${NAME} NOT NULL,
        time_zone ${NAME} NULL,
        payload LONGTEXT NOT NULL DEFAULT ('null'),
        queue ${NAME} NULL,
        priority SMALLINT NULL,
        description TEXT NULL,
        is_static TINYINT NOT NULL DEFAULT 1,
        last_run_at BIGINT NULL,
        next_run_at BIGINT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (backend, task_key)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_recurring_executions (
        backend ${NAME} NOT NULL,
        task_key ${NAME} NOT NULL,
        run_at BIGINT NOT NULL,
        job_id ${ID} NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (backend, task_key, run_at),
        INDEX stint_recurring_executions_job (job_id),
        INDEX stint_recurring_executions_age (backend, created_at)
      ) ${TABLE}`,
    ],
  },
  {
    version: 2,
    name: "claims record their attempt",
    statements: [
      // One ALTER, so it applies whole or not at all; a rerun skips it (migrations.ts).
      `ALTER TABLE stint_claimed_executions ADD COLUMN attempt INT NOT NULL DEFAULT 1,
        ADD COLUMN started_at BIGINT NOT NULL DEFAULT 0`,
      ...CLAIM_ATTEMPT_BACKFILL,
    ],
  },
  {
    // One migration for the release's new capabilities (DESIGN §10–§13); see drivers/libsql/schema.ts.
    // One ALTER per table, so each applies whole or not at all (a rerun skips it: migrations.ts).
    version: 3,
    name: "multi-step jobs, unique keys, flow control",
    statements: [
      `ALTER TABLE stint_jobs ADD COLUMN workspace LONGTEXT NULL, ADD COLUMN step TEXT NULL,
        ADD COLUMN parent_id ${ID} NULL, ADD COLUMN wait_count INT NOT NULL DEFAULT 0,
        ADD COLUMN awaited TINYINT NOT NULL DEFAULT 0, ADD COLUMN unique_key ${NAME} NULL,
        ADD COLUMN delivery ${WORD} NULL, ADD COLUMN progress LONGTEXT NULL, ADD COLUMN progress_at BIGINT NULL,
        ADD COLUMN rate_key ${NAME} NULL, ADD COLUMN rate_limit INT NULL, ADD COLUMN rate_per_ms BIGINT NULL,
        ADD COLUMN group_key ${NAME} NULL, ADD COLUMN traceparent VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        ADD INDEX stint_jobs_parent (parent_id)`,
      `ALTER TABLE stint_ready_executions ADD COLUMN rate_key ${NAME} NULL, ADD COLUMN group_key ${NAME} NULL`,
      `CREATE TABLE IF NOT EXISTS stint_steps (
        job_id ${ID} NOT NULL,
        backend ${NAME} NOT NULL,
        name ${NAME} NOT NULL,
        value LONGTEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (job_id, name),
        CONSTRAINT stint_steps_job FOREIGN KEY (job_id) REFERENCES stint_jobs (id) ON DELETE CASCADE
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_job_keys (
        backend ${NAME} NOT NULL,
        unique_key ${NAME} NOT NULL,
        job_id ${ID} NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (backend, unique_key),
        INDEX stint_job_keys_job (job_id)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_rate_slots (
        rate_key ${NAME} NOT NULL,
        slot INT NOT NULL,
        started_at BIGINT NOT NULL,
        PRIMARY KEY (rate_key, slot)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS stint_key_holds (
        hold_key ${NAME} NOT NULL PRIMARY KEY,
        until_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      ) ${TABLE}`,
    ],
  },
];
