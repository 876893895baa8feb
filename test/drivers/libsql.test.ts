/**
 * libSQL-specific behaviour that the contract suite cannot express through the
 * public API alone: another connection (another process, or the application's
 * own client) holding SQLite's write lock; the upgrade of a version-1 file;
 * the claim's query plans.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient, type InValue } from "@libsql/client";
import { targets } from "../support/targets.ts";
import { defineTask, JobNotFoundError } from "../../mod.ts";
import { fastRuntime, sleep, withDatabase, withStintAt } from "../support/harness.ts";
import { waitForStatus } from "../support/wait.ts";
import { migrations } from "../../drivers/libsql/schema.ts";
import { applyVersion1, applyVersions, checkUpgrade, type RawSql, type Row, seedVersion1 } from "../support/upgrade.ts";
import { checkUpgrade3, seedVersion2 } from "../support/upgrade3.ts";
import { substrPrefix } from "../../drivers/engine/selectors.ts";
import { armPicks } from "../support/claim-plans.ts";

const target = targets.find((t) => t.name === "libsql")!;
const echo = defineTask("echo", (p: string) => p);

describe("libsql driver", { skip: target.skip }, () => {
  // Regression: a statement that failed with SQLITE_BUSY left its pooled
  // connection unable to COMMIT until the statement was garbage collected, so
  // the write kept failing for seconds after the lock was gone (6 s under Deno),
  // and past its statement timeout it would have failed outright.
  test("a write that met another connection's write lock goes through once the lock is released", () =>
    withDatabase(target, (url) =>
      withStintAt(url, { statementTimeout: "3s" }, async (stint) => {
        const other = createClient({ url });
        try {
          const tx = await other.transaction("write");
          await tx.execute("SELECT 1");
          const pending = stint.enqueue("t", "waited");
          await sleep(150); // the enqueue meets the lock and retries
          await tx.commit();
          const { id } = await pending;
          assert.equal((await stint.getResult(id)).status, "ready");
          for (let i = 0; i < 5; i++) await stint.enqueue("t", i);
          assert.equal(await stint.queue("default").size(), 6);
        } finally {
          other.close();
        }
      })));

  test("enqueue with tx commits or rolls back with the application's own transaction", () =>
    withDatabase(target, (url) =>
      withStintAt(url, { tasks: [echo], ...fastRuntime() }, async (stint) => {
        const app = createClient({ url });
        try {
          await app.execute("CREATE TABLE app_orders (id INTEGER PRIMARY KEY, note TEXT)");
          const rolledBack = await app.transaction("write");
          await rolledBack.execute("INSERT INTO app_orders (note) VALUES ('gone')");
          const lost = await stint.enqueue(echo, "never", { tx: rolledBack });
          await rolledBack.rollback();
          await assert.rejects(() => stint.getResult(lost.id), JobNotFoundError);
          assert.equal(await stint.queue("default").size(), 0);

          await stint.start({ mode: "async" });
          const committed = await app.transaction("write");
          await committed.execute("INSERT INTO app_orders (note) VALUES ('kept')");
          const kept = await stint.enqueue(echo, "with the order", { tx: committed });
          await committed.commit();
          assert.equal((await waitForStatus(stint, kept.id, "succeeded")).returnValue, "with the order");
          const rows = await app.execute("SELECT note FROM app_orders");
          assert.deepEqual(rows.rows.map((r) => r.note), ["kept"]);
        } finally {
          app.close();
        }
      })));

  test("instances on one file do not lose or duplicate claims", () =>
    withDatabase(target, (url) =>
      withStintAt(url, {}, async (a) => {
        await withStintAt(url, { backend: a.backend }, async (b) => {
          const handles = await a.enqueueAll(Array.from({ length: 200 }, (_, i) => ({ task: "t", payload: i })));
          const pa = crypto.randomUUID();
          const pb = crypto.randomUUID();
          for (const [s, id] of [[a, pa], [b, pb]] as const) {
            await s.driver.processRegister({
              backend: s.backend,
              id,
              info: { kind: "worker", name: id, pid: null, hostname: null, metadata: {}, supervisorId: null },
              now: new Date(),
            });
          }
          const claimAll = async (s: typeof a, processId: string) => {
            const got: string[] = [];
            for (;;) {
              const jobs = await s.driver.jobClaim({
                backend: s.backend,
                processId,
                selectors: [{ kind: "all" }],
                limit: 7,
                now: new Date(),
              });
              if (jobs.length === 0) return got;
              got.push(...jobs.map((j) => j.id));
            }
          };
          const [ga, gb] = await Promise.all([claimAll(a, pa), claimAll(b, pb)]);
          const all = [...ga, ...gb];
          assert.equal(all.length, 200, `claimed ${ga.length} + ${gb.length}`);
          assert.deepEqual(new Set(all), new Set(handles.map((h) => h.id)));
        });
      })));

  test("a version-1 file with a claim made under version 1 upgrades through versions 2 and 3", () =>
    withDatabase(target, async (url) => {
      const client = createClient({ url });
      const raw: RawSql = {
        run: async (sql, params = []) => {
          await client.execute({ sql, args: params as InValue[] });
        },
        rows: async (sql, params = []) => (await client.execute({ sql, args: params as InValue[] })).rows as Row[],
      };
      try {
        await applyVersion1(
          raw,
          migrations[0],
          `CREATE TABLE IF NOT EXISTS stint_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
        );
        await checkUpgrade(url, raw, await seedVersion1(raw));
      } finally {
        client.close();
      }
    }));

  test("a version-2 file with jobs in flight upgrades to version 3 and they all run to the end", () =>
    withDatabase(target, async (url) => {
      const client = createClient({ url });
      const raw: RawSql = {
        run: async (sql, params = []) => {
          await client.execute({ sql, args: params as InValue[] });
        },
        rows: async (sql, params = []) => (await client.execute({ sql, args: params as InValue[] })).rows as Row[],
      };
      try {
        await applyVersions(
          raw,
          migrations.slice(0, 2),
          `CREATE TABLE IF NOT EXISTS stint_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
        );
        await checkUpgrade3(url, raw, await seedVersion2(raw));
      } finally {
        client.close();
      }
    }));

  // Regression: with two or more selectors the claim was one SELECT ordered by
  // the selector's rank, which SQLite answered by sorting every matching ready
  // row in a temporary B-tree on each claim.
  test("every selector's share of a claim reads down an index, with no temporary sort", () =>
    withDatabase(target, (url) =>
      withStintAt(url, {}, async (stint) => {
        await stint.enqueueAll(
          Array.from({ length: 3000 }, (_, k) => ({
            task: "t",
            payload: k,
            options: { queue: k % 3 === 0 ? "mail" : "bulk", priority: k % 5 },
          })),
        );
        const client = createClient({ url });
        try {
          await client.execute("ANALYZE");
          for (const pick of armPicks(substrPrefix, "")) {
            const plan = await client.execute({
              sql: `EXPLAIN QUERY PLAN ${pick.sql}`,
              args: [stint.backend, ...pick.params, 10] as InValue[],
            });
            const steps = plan.rows.map((r) => String(r.detail));
            const label = `${pick.label}: ${steps.join(" | ")}`;
            assert.ok(steps.some((d) => /stint_ready_poll/.test(d)), label);
            assert.ok(!steps.some((d) => /TEMP B-TREE/.test(d)), label);
          }
        } finally {
          client.close();
        }
      })));
});
