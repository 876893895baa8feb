/** Migrations on MySQL: DDL is not transactional, so concurrency safety comes from GET_LOCK. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createMysqlDriver } from "../../drivers/mysql/mod.ts";
import { migrations } from "../../drivers/mysql/schema.ts";
import { migrations as libsqlMigrations } from "../../drivers/libsql/schema.ts";
import { freshDatabaseSkip, rawConnection, withFreshDatabase } from "./env.ts";

const freshSkip = await freshDatabaseSkip();

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
});
