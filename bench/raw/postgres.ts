/**
 * Raw PostgreSQL ceiling over postgres.js. Where one statement can do the work
 * (a data-modifying CTE) it does, because that is the least a driver could
 * send: the claim is one statement (SELECT … FOR UPDATE SKIP LOCKED, DELETE,
 * INSERT, and a read of the jobs); an insert is one statement for both rows, its
 * batch passed as arrays through unnest; a completion is one statement.
 * Placeholders are written as `?` and numbered here.
 */
import postgres from "postgres";
import {
  CLAIMED_COLUMNS,
  CLEANUP_TABLES,
  PROCESS_COLUMNS,
  processParams,
  type RawJob,
  type RawQueue,
  READY_COLUMNS,
  valuesList,
} from "./mod.ts";

type Args = Array<string | number | null>;
const CHANNEL = "stint_bench_wake";

/** `?` → `$1, $2, …` (no `?` appears inside the literals used here). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A PostgreSQL array literal: one parameter for a whole batch, so each statement is prepared once. */
function pgArray(values: Array<string | number>): string {
  return `{${
    values.map((v) => (typeof v === "number" ? String(v) : `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)).join(
      ",",
    )
  }}`;
}

export async function openPostgres(url: string): Promise<RawQueue> {
  // Prepared statements, as drivers/postgres uses them: unsafe() would otherwise parse every call.
  const sql = postgres(url, { max: 10, prepare: true, fetch_types: false, onnotice: () => {} });
  const PREPARE = { prepare: true };
  const run = (text: string, args: Args = []) => sql.unsafe(numbered(text), args as never[], PREPARE);
  // The id columns' type (uuid or text) decides the array casts.
  const [{ type: idType }] = await run(
    `SELECT data_type AS type FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'stint_jobs' AND column_name = 'id'`,
  );
  const idArray = idType === "uuid" ? "uuid[]" : "text[]";

  // Both rows of every job in one statement; the batch travels as arrays through unnest.
  const insert = `WITH j AS (
      INSERT INTO stint_jobs (id, backend, task, queue, priority, payload, status, attempts, scheduled_at, created_at, updated_at)
      SELECT id, $1, task, queue, priority, payload, 'ready', 0, $2, $2, $2
      FROM unnest($3::${idArray}, $4::text[], $5::text[], $6::integer[], $7::text[]) AS i (id, task, queue, priority, payload)
      RETURNING id, queue, priority
    )
    INSERT INTO stint_ready_executions (${READY_COLUMNS.join(", ")}) SELECT id, $1, queue, priority, $2, $2 FROM j`;
  const insertArgs = (backend: string, jobs: RawJob[], now: number) => [
    backend,
    now,
    pgArray(jobs.map((j) => j.id)),
    pgArray(jobs.map((j) => j.task)),
    pgArray(jobs.map((j) => j.queue)),
    pgArray(jobs.map((j) => j.priority)),
    pgArray(jobs.map((j) => j.payload)),
  ];

  return {
    name: "postgres",
    pipelined: true,
    canNotify: true,
    async describe() {
      const [row] = await run(
        `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, version() AS v`,
      );
      return `fsync=${row.fsync} synchronous_commit=${row.sc} (${String(row.v).split(" on ")[0]})`;
    },
    async processRegister(backend) {
      const id = crypto.randomUUID();
      await run(
        `INSERT INTO stint_processes (${PROCESS_COLUMNS.join(", ")}) VALUES ${valuesList(11, 1)}`,
        processParams(backend, id),
      );
      return id;
    },
    async insertOne(backend, job, now, notify = false) {
      const args = insertArgs(backend, [job], now);
      if (!notify) {
        await sql.unsafe(insert, args, PREPARE);
        return;
      }
      // NOTIFY is delivered at commit, so the listener never wakes before the rows are visible.
      await sql.begin(async (tx) => {
        await tx.unsafe(insert, args, PREPARE);
        await tx.unsafe(`SELECT pg_notify($1, $2)`, [CHANNEL, job.queue], PREPARE);
      });
    },
    async insertMany(backend, jobs, now) {
      await sql.unsafe(insert, insertArgs(backend, jobs, now), PREPARE);
    },
    async claim(backend, processId, limit, now) {
      const rows = await run(
        `WITH picked AS (
           SELECT ctid AS rid, job_id FROM stint_ready_executions WHERE backend = ?
           ORDER BY priority DESC, job_id LIMIT ? FOR UPDATE SKIP LOCKED
         ), gone AS (
           DELETE FROM stint_ready_executions r WHERE r.ctid = ANY (ARRAY(SELECT rid FROM picked)) RETURNING r.job_id
         ), jobs AS MATERIALIZED (
           SELECT j.id, j.task, j.payload, j.attempts + 1 AS attempt FROM stint_jobs j
           WHERE j.id = ANY (ARRAY(SELECT job_id FROM gone))
         ), claimed AS (
           INSERT INTO stint_claimed_executions (${CLAIMED_COLUMNS.join(", ")})
           SELECT id, ?, ?, attempt, ?, ? FROM jobs
         )
         SELECT id, task, payload FROM jobs`,
        [backend, limit, backend, processId, now, now],
      );
      return rows.map((r) => ({ id: String(r.id), task: String(r.task), payload: String(r.payload) }));
    },
    async complete(ids) {
      await sql.unsafe(
        `WITH c AS (DELETE FROM stint_claimed_executions WHERE job_id = ANY($1::${idArray}))
         DELETE FROM stint_jobs WHERE id = ANY($1::${idArray})`,
        [pgArray(ids)],
        PREPARE,
      );
    },
    async listen(onWake) {
      const { unlisten } = await sql.listen(CHANNEL, () => onWake());
      return unlisten;
    },
    async cleanup(backend) {
      await sql.begin(async (tx) => {
        for (const table of CLEANUP_TABLES) await tx.unsafe(`DELETE FROM ${table} WHERE backend = $1`, [backend]);
      });
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
