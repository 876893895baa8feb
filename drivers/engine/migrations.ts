/**
 * The migration loop every dialect shares: record versions in
 * stint_schema_migrations and apply the missing ones in order. Each dialect
 * wraps it in its own lock (SQLite's write transaction, PostgreSQL's advisory
 * lock, MySQL's GET_LOCK) and supplies its version table's DDL.
 */
import type { Migration, SqlRunner } from "./access.ts";

export async function applyMigrations(q: SqlRunner, list: Migration[], createVersionTable: string): Promise<number[]> {
  await q.run(createVersionTable);
  const done = new Set((await q.query(`SELECT version FROM stint_schema_migrations`)).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of list) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await q.run(statement);
    await q.run(`INSERT INTO stint_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [
      m.version,
      m.name,
      Date.now(),
    ]);
    applied.push(m.version);
  }
  return applied;
}

/**
 * Version 2's data step, the same on every dialect: a claim now records its
 * attempt and start on the claimed row and leaves the job's row as it was
 * (drivers/engine/job-rows.ts). Claims made before the upgrade move their attempt
 * there, and their jobs go back to the state a claim leaves them in now.
 * Both statements can run again after a half-applied run (MySQL has no DDL
 * transactions): the second only touches jobs the first has already moved.
 */
export const CLAIM_ATTEMPT_BACKFILL = [
  `UPDATE stint_claimed_executions
     SET attempt = (SELECT j.attempts FROM stint_jobs j WHERE j.id = stint_claimed_executions.job_id),
       started_at = (SELECT COALESCE(j.started_at, stint_claimed_executions.created_at) FROM stint_jobs j
         WHERE j.id = stint_claimed_executions.job_id)
   WHERE job_id IN (SELECT id FROM stint_jobs WHERE status = 'running')`,
  `UPDATE stint_jobs SET status = 'ready', attempts = attempts - 1
   WHERE status = 'running' AND id IN (SELECT job_id FROM stint_claimed_executions)`,
];
