/**
 * Migrations on MySQL: DDL is not transactional, so concurrency safety comes from GET_LOCK, and a run that died
 * part-way is finished by the next; the upgrade of a version-1 database.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createMysqlDriver } from "../../drivers/mysql/mod.ts";
import { migrations } from "../../drivers/mysql/schema.ts";
import { migrations as libsqlMigrations } from "../../drivers/libsql/schema.ts";
import { freshDatabaseSkip, rawConnection, withFreshDatabase } from "./env.ts";
import { applyVersion1, checkUpgrade, type RawSql, type Row, seedVersion1 } from "../support/upgrade.ts";

const freshSkip = await freshDatabaseSkip();

/**
 * A version-1 database with claims made under version 1, then the first `died` statements of version 2 (as if a
 * run had died after them, before recording the version), upgraded by the driver's migrate.
 */
function upgradeFrom(died: number) {
  return withFreshDatabase(async (url) => {
    const conn = await rawConnection(url);
    const raw: RawSql = {
      run: async (sql, params = []) => {
        await conn.query(sql, params);
      },
      rows: async (sql, params = []) => (await conn.query(sql, params))[0] as Row[],
    };
    try {
      await applyVersion1(
        raw,
        migrations[0],
        `CREATE TABLE IF NOT EXISTS stint_schema_migrations (
          version INT NOT NULL PRIMARY KEY,
          name VARCHAR(255) NOT NULL,
          applied_at BIGINT NOT NULL
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      );
      const seed = await seedVersion1(raw);
      for (const statement of migrations[1].statements.slice(0, died)) await conn.query(statement);
      await checkUpgrade(url, raw, seed);
    } finally {
      await conn.end();
    }
  });
}

describe("mysql migrate", () => {
  test("the same version numbers as the libSQL schema", () => {
    assert.deepEqual(migrations.map((m) => m.version), libsqlMigrations.map((m) => m.version));
  });

  test(
    "two clients migrating an empty database at once apply each version exactly once",
    { skip: freshSkip },
    () =>
      withFreshDatabase(async (url) => {
        const a = await createMysqlDriver({ url, statementTimeoutMs: 30_000 });
        const b = await createMysqlDriver({ url, statementTimeoutMs: 30_000 });
        try {
          const [ra, rb] = await Promise.all([a.migrate(), b.migrate()]);
          assert.deepEqual([...ra, ...rb].sort(), migrations.map((m) => m.version));
          assert.deepEqual(await a.migrate(), []);
          const conn = await rawConnection(url);
          try {
            const [rows] = await conn.query(`SELECT version FROM stint_schema_migrations ORDER BY version`);
            assert.deepEqual(
              (rows as Array<{ version: number }>).map((r) => r.version),
              migrations.map((m) => m.version),
            );
            const [tables] = await conn.query(`SHOW TABLES LIKE 'stint\\_%'`);
            assert.equal((tables as unknown[]).length, 13);
          } finally {
            await conn.end();
          }
        } finally {
          await a.close();
          await b.close();
        }
      }),
  );

  test(
    "a run that died after some DDL is finished by the next one",
    { skip: freshSkip },
    () =>
      withFreshDatabase(async (url) => {
        const conn = await rawConnection(url);
        const driver = await createMysqlDriver({ url, statementTimeoutMs: 30_000 });
        try {
          // As if a process had created two tables and died before recording the version.
          for (const statement of migrations[0].statements.slice(0, 2)) await conn.query(statement);
          assert.deepEqual(await driver.migrate(), migrations.map((m) => m.version));
          const [tables] = await conn.query(`SHOW TABLES LIKE 'stint\\_%'`);
          assert.equal((tables as unknown[]).length, 13);
        } finally {
          await conn.end();
          await driver.close();
        }
      }),
  );

  test(
    "a version-1 database with a claim made under version 1 upgrades to version 2",
    { skip: freshSkip },
    () => upgradeFrom(0),
  );

  test("an upgrade that died after version 2's ALTER is finished by the next migrate", {
    skip: freshSkip,
    timeout: 30_000,
  }, async () => {
    assert.match(migrations[1].statements[0], /^ALTER TABLE stint_claimed_executions ADD COLUMN/);
    await upgradeFrom(1);
  });

  test("an upgrade that died after version 2's ALTER and first data statement is finished by the next", {
    skip: freshSkip,
    timeout: 30_000,
  }, () => upgradeFrom(2));
});
