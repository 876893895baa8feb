/**
 * Migrations on MySQL, where DDL commits implicitly and cannot run inside a
 * transaction. Safety comes from two things instead: a server-wide named lock
 * (GET_LOCK) held for the whole run, so two processes migrating at once take
 * turns and the second finds the versions already recorded; and statements that
 * are idempotent (CREATE TABLE IF NOT EXISTS; an ALTER TABLE … ADD COLUMN whose
 * columns exist already is skipped), so a run that died half way is finished by
 * the next one.
 */
import type { Pool, PoolConnection } from "mysql2/promise";
import { DriverError } from "../../src/errors.ts";
import type { Migration, Param, Row } from "../engine/access.ts";
import { applyMigrations } from "../engine/migrations.ts";
import { driverError } from "./errors.ts";

const LOCK_WAIT_S = 120;

export async function migrateMysql(
  pool: Pool,
  label: string,
  database: string,
  unlimitedSql: string,
  list: Migration[],
): Promise<number[]> {
  let conn: PoolConnection;
  try {
    conn = await pool.getConnection();
  } catch (error) {
    throw driverError(error, label, "migrate");
  }
  // Named locks are server-wide: the database name keeps two apps apart (64 chars at most).
  const lock = `stint_migrate:${database}`.slice(0, 64);
  try {
    // DDL on a big table can outlast the queue's statement timeout.
    await conn.query(unlimitedSql);
    const [rows] = await conn.query(`SELECT GET_LOCK(?, ?) AS got`, [lock, LOCK_WAIT_S]);
    if (Number((rows as Array<{ got: unknown }>)[0]?.got) !== 1) {
      throw new DriverError(`mysql ${label}: migrate: another process held the migration lock for ${LOCK_WAIT_S}s`);
    }
    try {
      // MySQL DDL commits on its own: GET_LOCK, not a transaction, keeps two migrators apart.
      const runner = {
        query: async (sql: string, params: Param[] = []) => (await conn.query(sql, params))[0] as Row[],
        run: async (sql: string, params: Param[] = []) => {
          try {
            await conn.query(sql, params);
          } catch (error) {
            if (!alreadyAdded(sql, error)) throw error;
          }
          return 0;
        },
      };
      return await applyMigrations(
        runner,
        list,
        `CREATE TABLE IF NOT EXISTS stint_schema_migrations (
          version INT NOT NULL PRIMARY KEY,
          name VARCHAR(255) NOT NULL,
          applied_at BIGINT NOT NULL
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      );
    } finally {
      await conn.query(`SELECT RELEASE_LOCK(?)`, [lock]).catch(() => {});
    }
  } catch (error) {
    throw driverError(error, label, "migrate");
  } finally {
    // The session had its statement timeout lifted; a fresh connection replaces it.
    conn.destroy();
  }
}

/**
 * MySQL 8 has no ADD COLUMN IF NOT EXISTS: an ALTER that adds columns and fails
 * with "duplicate column" (1060) was applied by a run that died before it
 * recorded its version. The migration's ALTERs add all their columns in one
 * statement, which applies whole or not at all.
 */
function alreadyAdded(sql: string, error: unknown): boolean {
  return /^\s*ALTER TABLE\s+\w+\s+ADD COLUMN/i.test(sql) && (error as { errno?: number })?.errno === 1060;
}
