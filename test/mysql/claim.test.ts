/** Claims on MySQL: FOR UPDATE SKIP LOCKED, one selector at a time. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createMysqlDriver } from "../../drivers/mysql/mod.ts";
import type { Driver } from "../../src/driver.ts";
import type { QueueSelector } from "../../src/records.ts";
import { newJobId } from "../../src/ids.ts";
import { mysqlUrl, rawConnection, skip } from "./env.ts";
import { likePrefix } from "../../drivers/engine/selectors.ts";
import { armPicks } from "../support/claim-plans.ts";

const backend = () => `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;

async function register(driver: Driver, b: string): Promise<string> {
  const id = crypto.randomUUID();
  await driver.processRegister({
    backend: b,
    id,
    info: { kind: "worker", name: `w-${id}`, pid: 1, hostname: "test", metadata: {}, supervisorId: null },
    now: new Date(),
  });
  return id;
}

describe("mysql claims", { skip }, () => {
  test("four concurrent claimers with different selectors never get the same job", async () => {
    const b = backend();
    const drivers = await Promise.all(
      [0, 1, 2, 3].map(() => createMysqlDriver({ url: mysqlUrl(), statementTimeoutMs: 30_000 })),
    );
    try {
      await drivers[0].migrate();
      const queues = ["default", "mail", "mail_bulk", "reports"];
      const now = new Date();
      const jobs = Array.from({ length: 800 }, (_, i) => ({
        id: newJobId(),
        task: "t",
        queue: queues[i % 4],
        priority: (i % 5) - 2,
        payload: "{}",
        scheduledAt: now,
        concurrency: null,
      }));
      await drivers[0].jobInsertMany({ backend: b, jobs, now });
      const selectors: QueueSelector[][] = [
        [{ kind: "all" }],
        [{ kind: "exact", queue: "reports" }, { kind: "exact", queue: "default" }, { kind: "all" }],
        [{ kind: "prefix", prefix: "mail" }, { kind: "exact", queue: "mail_bulk" }, { kind: "all" }],
        [{ kind: "exact", queue: "mail_bulk" }, { kind: "all" }],
      ];
      const claimed: string[] = [];
      await Promise.all(drivers.map(async (driver, k) => {
        const processId = await register(driver, b);
        for (let empty = 0; empty < 2;) {
          const got = await driver.jobClaim({
            backend: b,
            processId,
            selectors: selectors[k],
            limit: 9,
            now: new Date(),
          });
          if (got.length === 0) empty++;
          claimed.push(...got.map((j) => j.id));
        }
      }));
      assert.equal(new Set(claimed).size, claimed.length, "a job was claimed twice");
      assert.deepEqual([...claimed].sort(), jobs.map((j) => j.id).sort());
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
    }
  });

  test("selector order beats priority, and overlapping selectors do not return a job twice", async () => {
    const b = backend();
    const driver = await createMysqlDriver({ url: mysqlUrl(), statementTimeoutMs: 30_000 });
    try {
      await driver.migrate();
      const now = new Date();
      const job = (queue: string, priority: number) => ({
        id: newJobId(),
        task: "t",
        queue,
        priority,
        payload: "{}",
        scheduledAt: now,
        concurrency: null,
      });
      const jobs = [job("mail_bulk", 9), job("mail", 1), job("other", 50), job("mail_bulk", 0)];
      await driver.jobInsertMany({ backend: b, jobs, now });
      const processId = await register(driver, b);
      const got = await driver.jobClaim({
        backend: b,
        processId,
        selectors: [{ kind: "exact", queue: "mail" }, { kind: "prefix", prefix: "mail" }, { kind: "all" }],
        limit: 10,
        now,
      });
      assert.deepEqual(got.map((j) => j.id), [jobs[1].id, jobs[0].id, jobs[3].id, jobs[2].id]);
      assert.ok(got.every((j) => j.attempt === 1));
    } finally {
      await driver.close();
    }
  });

  test("a prefix is case-sensitive and takes LIKE wildcards literally", async () => {
    const b = backend();
    const driver = await createMysqlDriver({ url: mysqlUrl(), statementTimeoutMs: 30_000 });
    try {
      await driver.migrate();
      const now = new Date();
      const names = ["a_b1", "axb2", "A_b3", "a%b4"];
      const jobs = names.map((queue) => ({
        id: newJobId(),
        task: "t",
        queue,
        priority: 0,
        payload: "{}",
        scheduledAt: now,
        concurrency: null,
      }));
      await driver.jobInsertMany({ backend: b, jobs, now });
      const processId = await register(driver, b);
      const got = await driver.jobClaim({
        backend: b,
        processId,
        selectors: [{ kind: "prefix", prefix: "a_" }],
        limit: 10,
        now,
      });
      assert.deepEqual(got.map((j) => j.queue), ["a_b1"]);
    } finally {
      await driver.close();
    }
  });

  test("a heartbeat with an unchanged time still finds its row (matched rows, not changed rows, count)", async () => {
    const b = backend();
    const driver = await createMysqlDriver({ url: mysqlUrl(), statementTimeoutMs: 30_000 });
    try {
      await driver.migrate();
      const id = await register(driver, b);
      const now = new Date();
      assert.equal(await driver.processHeartbeat({ backend: b, id, now }), true);
      assert.equal(await driver.processHeartbeat({ backend: b, id, now }), true);
      await driver.processDeregister({ backend: b, id });
      assert.equal(await driver.processHeartbeat({ backend: b, id, now }), false);
    } finally {
      await driver.close();
    }
  });

  test("every selector's share of a claim reads down an index, with no filesort", async () => {
    const b = backend();
    const driver = await createMysqlDriver({ url: mysqlUrl(), statementTimeoutMs: 30_000 });
    const conn = await rawConnection();
    try {
      await driver.migrate();
      const now = new Date();
      await driver.jobInsertMany({
        backend: b,
        jobs: Array.from({ length: 2000 }, (_, k) => ({
          id: newJobId(),
          task: "t",
          queue: k % 3 === 0 ? "mail" : "bulk",
          priority: k % 5,
          payload: "{}",
          scheduledAt: now,
          concurrency: null,
        })),
        now,
      });
      await conn.query("ANALYZE TABLE stint_ready_executions, stint_jobs, stint_pauses");
      for (const pick of armPicks(likePrefix, "FOR UPDATE SKIP LOCKED")) {
        const [rows] = await conn.query(`EXPLAIN ${pick.sql}`, [b, ...pick.params, 10]);
        const plan = (rows as Array<Record<string, unknown>>).map((r) => `${r.table}:${r.key ?? "-"}:${r.Extra ?? ""}`);
        const label = `${pick.label}: ${plan.join(" | ")}`;
        const ready = plan.find((p) => p.startsWith("r:"));
        assert.ok(ready && /stint_ready_poll/.test(ready), label);
        assert.ok(!plan.some((p) => /filesort|temporary/i.test(p)), label);
      }
    } finally {
      await conn.query("DELETE FROM stint_ready_executions WHERE backend = ?", [b]);
      await conn.query("DELETE FROM stint_jobs WHERE backend = ?", [b]);
      await conn.end();
      await driver.close();
    }
  });
});
