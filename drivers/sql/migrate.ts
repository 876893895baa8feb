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
