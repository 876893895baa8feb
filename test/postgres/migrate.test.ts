/** Migrations on PostgreSQL: transactional DDL under an advisory lock; the upgrade of a version-1 database. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createPostgresDriver } from "../../drivers/postgres/mod.ts";
import { migrations } from "../../drivers/postgres/schema.ts";
import { migrations as libsqlMigrations } from "../../drivers/libsql/schema.ts";
import { freshDatabaseSkip, rawClient, withFreshDatabase } from "./env.ts";
import { applyVersion1, checkUpgrade, type RawSql, seedVersion1 } from "../support/upgrade.ts";

const freshSkip = await freshDatabaseSkip();

async function stintTables(url: string): Promise<string[]> {
  const sql = rawClient(url);
  try {
    const rows = await sql.unsafe(
      `SELECT tablename FROM pg_tables WHERE tablename LIKE 'stint\\_%' ORDER BY tablename`,
    );
    return rows.map((r) => String(r.tablename));
  } finally {
    await sql.end();
  }
}

describe("postgres migrate", () => {
  test("the same version numbers and tables as the libSQL schema", () => {
    assert.deepEqual(migrations.map((m) => m.version), libsqlMigrations.map((m) => m.version));
    const tables = (list: typeof migrations) =>
      list.flatMap((m) => m.statements).map((s) => /^CREATE TABLE (\w+)/.exec(s)?.[1]).filter(Boolean).sort();
    assert.deepEqual(tables(migrations), tables(libsqlMigrations));
  });

  test(
    "two clients migrating an empty database at once apply each version exactly once",
    { skip: freshSkip },
    () =>
      withFreshDatabase(async (url) => {
        const a = await createPostgresDriver({ url, statementTimeoutMs: 30_000 });
        const b = await createPostgresDriver({ url, statementTimeoutMs: 30_000 });
        try {
          const [ra, rb] = await Promise.all([a.migrate(), b.migrate()]);
          assert.deepEqual([...ra, ...rb].sort(), migrations.map((m) => m.version));
          assert.deepEqual(await a.migrate(), []);
          assert.deepEqual(await b.migrate(), []);
          const sql = rawClient(url);
          try {
            const rows = await sql.unsafe(`SELECT version FROM stint_schema_migrations ORDER BY version`);
            assert.deepEqual(rows.map((r) => Number(r.version)), migrations.map((m) => m.version));
          } finally {
            await sql.end();
          }
          assert.equal((await stintTables(url)).length, 13);
        } finally {
          await a.close();
          await b.close();
        }
      }),
  );

  test(
    "a migration that fails leaves nothing behind, and a later run applies it whole",
    { skip: freshSkip },
    () =>
      withFreshDatabase(async (url) => {
        const sql = rawClient(url);
        const driver = await createPostgresDriver({ url, statementTimeoutMs: 30_000 });
        try {
          // A table in the way makes version 1 fail part-way through.
          await sql.unsafe(`CREATE TABLE stint_pauses (unrelated integer)`);
          await assert.rejects(driver.migrate(), /stint_pauses/);
          assert.deepEqual(await stintTables(url), ["stint_pauses"]);
          await sql.unsafe(`DROP TABLE stint_pauses`);
          assert.deepEqual(await driver.migrate(), migrations.map((m) => m.version));
          assert.equal((await stintTables(url)).length, 13);
        } finally {
          await sql.end();
          await driver.close();
        }
      }),
  );

  test(
    "a version-1 database with a claim made under version 1 upgrades to version 2",
    { skip: freshSkip },
    () =>
      withFreshDatabase(async (url) => {
        const sql = rawClient(url);
        const numbered = (text: string) => {
          let i = 0;
          return text.replaceAll("?", () => `$${++i}`);
        };
        const raw: RawSql = {
          run: async (text, params = []) => {
            await sql.unsafe(numbered(text), params as never[]);
          },
          rows: async (text, params = []) => [...await sql.unsafe(numbered(text), params as never[])],
        };
        try {
          await applyVersion1(
            raw,
            migrations[0],
            `CREATE TABLE IF NOT EXISTS stint_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
          );
          await checkUpgrade(url, raw, await seedVersion1(raw));
        } finally {
          await sql.end();
        }
      }),
  );
});
