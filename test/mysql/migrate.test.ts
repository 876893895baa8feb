/**
 * Migrations on MySQL: DDL is not transactional, so concurrency safety comes from GET_LOCK, and a run that died
 * part-way is finished by the next; the upgrades of version-1 and version-2 databases.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createMysqlDriver } from "../../drivers/mysql/mod.ts";
import { migrations } from "../../drivers/mysql/schema.ts";
import { migrations as libsqlMigrations } from "../../drivers/libsql/schema.ts";
import { freshDatabaseSkip, rawConnection, withFreshDatabase } from "./env.ts";
import { applyVersion1, applyVersions, checkUpgrade, type RawSql, type Row, seedVersion1 } from "../support/upgrade.ts";
import { checkUpgrade3, seedVersion2 } from "../support/upgrade3.ts";

const freshSkip = await freshDatabaseSkip();

/** The queue's tables at the latest version. */
const TABLES = 17;
const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS stint_schema_migrations (
  version INT NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  applied_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** The test's own statements on `conn`. */
function rawOver(conn: Awaited<ReturnType<typeof rawConnection>>): RawSql {
  return {
    run: async (sql, params = []) => {
      await conn.query(sql, params);
    },
    rows: async (sql, params = []) => (await conn.query(sql, params))[0] as Row[],
  };
}

/**
 * A version-1 database with claims made under version 1, then the first `died` statements of version 2 (as if a
 * run had died after them, before recording the version), upgraded by the driver's migrate.
 */
function upgradeFrom(died: number) {
  return withFreshDatabase(async (url) => {
    const conn = await rawConnection(url);
    const raw = rawOver(conn);
    try {
      await applyVersion1(raw, migrations[0], VERSION_TABLE);
      const seed = await seedVersion1(raw);
      for (const statement of migrations[1].statements.slice(0, died)) await conn.query(statement);
      await checkUpgrade(url, raw, seed);
    } finally {
      await conn.end();
    }
  });
}

/**
 * A version-2 database with jobs in flight, then the first `died` statements of version 3 (as if a run had died
 * after them, before recording the version), upgraded by the driver's migrate.
 */
function upgrade3From(died: number) {
  return withFreshDatabase(async (url) => {
    const conn = await rawConnection(url);
    const raw = rawOver(conn);
    try {
      await applyVersions(raw, migrations.slice(0, 2), VERSION_TABLE);
      const seed = await seedVersion2(raw);
      for (const statement of migrations[2].statements.slice(0, died)) await conn.query(statement);
      await checkUpgrade3(url, raw, seed);
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
            assert.equal((tables as unknown[]).length, TABLES);
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
          assert.equal((tables as unknown[]).length, TABLES);
        } finally {
          await conn.end();
          await driver.close();
        }
      }),
  );

  test(
    "a version-1 database with a claim made under version 1 upgrades through versions 2 and 3",
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

  test(
    "a version-2 database with jobs in flight upgrades to version 3 and they all run to the end",
    { skip: freshSkip, timeout: 30_000 },
    () => upgrade3From(0),
  );

  test("an upgrade that died after version 3's ALTER of stint_jobs is finished by the next migrate", {
    skip: freshSkip,
    timeout: 30_000,
  }, async () => {
    assert.match(migrations[2].statements[0], /^ALTER TABLE stint_jobs ADD COLUMN/);
    await upgrade3From(1);
  });

  test("an upgrade that died after version 3's tables were created is finished by the next migrate", {
    skip: freshSkip,
    timeout: 30_000,
  }, () => upgrade3From(migrations[2].statements.length));
});
