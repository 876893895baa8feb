/**
 * Raw MySQL / MariaDB ceiling over mysql2's promise pool. No RETURNING on
 * UPDATE here, so the claim is four statements in one transaction, reading the
 * payload in the locking SELECT (FOR UPDATE SKIP LOCKED, MariaDB 10.6+ / MySQL 8).
 * Statements go through `query` (client-side placeholders): the variable-length
 * IN lists and multi-row VALUES would otherwise prepare a statement per length.
 */
import mysql from "mysql2/promise";
import {
  CLAIMED_COLUMNS,
  CLEANUP_TABLES,
  JOB_COLUMNS,
  jobParams,
  placeholders,
  PROCESS_COLUMNS,
  processParams,
  type RawClaimed,
  type RawQueue,
  READY_COLUMNS,
  readyParams,
  valuesList,
} from "./mod.ts";

type Args = Array<string | number | null>;
type Conn = mysql.PoolConnection;

export function openMysql(url: string): RawQueue {
  const pool = mysql.createPool({ uri: url, connectionLimit: 10 });
  // Deadlocks and lock wait timeouts are expected under concurrent claims: retry the whole
  // transaction, as a driver does.
  const transaction = async <T>(fn: (c: Conn) => Promise<T>): Promise<T> => {
    for (let attempt = 0;; attempt++) {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        const result = await fn(conn);
        await conn.commit();
        return result;
      } catch (error) {
        await conn.rollback().catch(() => {});
        const errno = (error as { errno?: number }).errno;
        if ((errno !== 1213 && errno !== 1205) || attempt >= 20) throw error;
      } finally {
        conn.release();
      }
    }
  };
  const q = async (c: Conn | mysql.Pool, text: string, args: Args = []) => {
    const [rows] = await c.query(text, args);
    return rows as Array<Record<string, unknown>>;
  };
  const insertJobs = (rows: number) =>
    `INSERT INTO stint_jobs (${JOB_COLUMNS.join(", ")}) VALUES ${valuesList(15, rows)}`;
  const insertReady = (rows: number) =>
    `INSERT INTO stint_ready_executions (${READY_COLUMNS.join(", ")}) VALUES ${valuesList(6, rows)}`;

  return {
    name: "mysql",
    pipelined: true,
    canNotify: false,
    async describe() {
      const [row] = await q(pool, `SELECT @@innodb_flush_log_at_trx_commit AS f, @@sync_binlog AS s, VERSION() AS v`);
      return `innodb_flush_log_at_trx_commit=${row.f} sync_binlog=${row.s} (${row.v})`;
    },
    async processRegister(backend) {
      const id = crypto.randomUUID();
      await q(
        pool,
        `INSERT INTO stint_processes (${PROCESS_COLUMNS.join(", ")}) VALUES ${valuesList(11, 1)}`,
        processParams(backend, id),
      );
      return id;
    },
    async insertOne(backend, job, now) {
      await transaction(async (c) => {
        await q(c, insertJobs(1), jobParams(backend, job, now));
        await q(c, insertReady(1), readyParams(backend, job, now));
      });
    },
    async insertMany(backend, jobs, now) {
      await transaction(async (c) => {
        await q(c, insertJobs(jobs.length), jobs.flatMap((j) => jobParams(backend, j, now)));
        await q(c, insertReady(jobs.length), jobs.flatMap((j) => readyParams(backend, j, now)));
      });
    },
    claim(backend, processId, limit, now) {
      return transaction(async (c) => {
        const picked = await q(
          c,
          `SELECT r.job_id, j.task, j.payload FROM stint_ready_executions r JOIN stint_jobs j ON j.id = r.job_id
           WHERE r.backend = ? ORDER BY r.priority DESC, r.job_id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [backend, limit],
        );
        if (picked.length === 0) return [];
        const jobs: RawClaimed[] = picked.map((r) => ({
          id: String(r.job_id),
          task: String(r.task),
          payload: String(r.payload),
        }));
        const ids = jobs.map((j) => j.id);
        const inIds = placeholders(ids.length);
        await q(c, `DELETE FROM stint_ready_executions WHERE job_id IN (${inIds})`, ids);
        await q(
          c,
          `INSERT INTO stint_claimed_executions (${CLAIMED_COLUMNS.join(", ")}) VALUES ${valuesList(6, ids.length)}`,
          ids.flatMap((id) => [id, backend, processId, 1, now, now]),
        );
        return jobs;
      });
    },
    async complete(ids) {
      await transaction(async (c) => {
        await q(c, `DELETE FROM stint_claimed_executions WHERE job_id IN (${placeholders(ids.length)})`, ids);
        await q(c, `DELETE FROM stint_jobs WHERE id IN (${placeholders(ids.length)})`, ids);
      });
    },
    async cleanup(backend) {
      await transaction(async (c) => {
        for (const table of CLEANUP_TABLES) await q(c, `DELETE FROM ${table} WHERE backend = ?`, [backend]);
      });
    },
    close: () => pool.end(),
  };
}
