/** Migrations on PostgreSQL: transactional DDL under an advisory lock; the upgrades of version-1 and version-2 databases. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createPostgresDriver } from "../../drivers/postgres/mod.ts";
import { migrations } from "../../drivers/postgres/schema.ts";
import { migrations as libsqlMigrations } from "../../drivers/libsql/schema.ts";
import { freshDatabaseSkip, rawClient, withFreshDatabase } from "./env.ts";
import { applyVersion1, applyVersions, checkUpgrade, type RawSql, seedVersion1 } from "../support/upgrade.ts";
import { checkUpgrade3, seedVersion2 } from "../support/upgrade3.ts";

const freshSkip = await freshDatabaseSkip();

/** The queue's tables at the latest version. */
const TABLES = 17;
const VERSION_TABLE =
  `CREATE TABLE IF NOT EXISTS stint_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;

/** The test's own statements on `sql`, with `?` placeholders. */
function rawOver(sql: ReturnType<typeof rawClient>): RawSql {
  const numbered = (text: string) => {
    let i = 0;
    return text.replaceAll("?", () => `$${++i}`);
  };
  return {
    run: async (text, params = []) => {
      await sql.unsafe(numbered(text), params as never[]);
    },
    rows: async (text, params = []) => [...await sql.unsafe(numbered(text), params as never[])],
  };
}

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
          assert.equal((await stintTables(url)).length, TABLES);
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
          assert.equal((await stintTables(url)).length, TABLES);
        } finally {
          await sql.end();
          await driver.close();
        }
      }),
  );

  test(
    "a version-1 database with a claim made under version 1 upgrades through versions 2 and 3",
    { skip: freshSkip },
    () =>
      withFreshDatabase(async (url) => {
        const sql = rawClient(url);
        const raw = rawOver(sql);
        try {
          await applyVersion1(raw, migrations[0], VERSION_TABLE);
          await checkUpgrade(url, raw, await seedVersion1(raw));
        } finally {
          await sql.end();
        }
      }),
  );

  test(
    "a version-2 database with jobs in flight upgrades to version 3 and they all run to the end",
    { skip: freshSkip },
    () =>
      withFreshDatabase(async (url) => {
        const sql = rawClient(url);
        const raw = rawOver(sql);
        try {
          await applyVersions(raw, migrations.slice(0, 2), VERSION_TABLE);
          await checkUpgrade3(url, raw, await seedVersion2(raw));
        } finally {
          await sql.end();
        }
      }),
  );
});
