/**
 * MySQL transactions: enqueue inside the caller's mysql2 transaction, and the
 * driver's own transactions retrying deadlocks and lock wait timeouts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Connection, Pool } from "mysql2/promise";
import mysql from "mysql2/promise";
import { createStint, defineTask, DriverError, JobNotFoundError, type Stint } from "../../mod.ts";
import { openMysqlAccess } from "../../drivers/mysql/mod.ts";
import { isTransient } from "../../drivers/mysql/errors.ts";
import type { SqlAccess } from "../../drivers/engine/access.ts";
import { mysqlUrl, rawConnection, skip } from "./env.ts";

const note = defineTask("note", (p: { n: number }) => p.n);
const backend = () => `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;

describe("mysql transactional enqueue", { skip }, () => {
  let stint: Stint;
  let pool: Pool;
  before(async () => {
    stint = await createStint({ url: mysqlUrl(), backend: backend(), tasks: [note] });
    await stint.migrate();
    pool = mysql.createPool(mysqlUrl());
  });
  after(async () => {
    await stint?.close();
    await pool?.end();
  });

  test("committed with the caller's pool connection: the job is there", async () => {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const { id } = await stint.enqueue(note, { n: 1 }, { tx: conn });
      // Not visible to anyone else before the commit.
      await assert.rejects(stint.getResult(id), JobNotFoundError);
      await conn.commit();
      const result = await stint.getResult(id);
      assert.equal(result.status, "ready");
      assert.deepEqual(result.payload, { n: 1 });
    } finally {
      conn.release();
    }
  });

  test("rolled back: no job and no ready row", async () => {
    const conn = await pool.getConnection();
    let id: string;
    try {
      await conn.beginTransaction();
      ({ id } = await stint.enqueue(note, { n: 2 }, { tx: conn, queue: "rolled_back" }));
      await conn.rollback();
    } finally {
      conn.release();
    }
    await assert.rejects(stint.getResult(id), JobNotFoundError);
    assert.equal(await stint.queue("rolled_back").size(), 0);
  });

  test("a callback-style connection works too (through its own .promise())", async () => {
    const conn = await rawConnection();
    // The callback-style connection under the promise wrapper (untyped in mysql2's .d.ts).
    const core = (conn as unknown as { connection: unknown }).connection;
    try {
      await conn.beginTransaction();
      const { id } = await stint.enqueue(note, { n: 3 }, { tx: core });
      await conn.commit();
      assert.equal((await stint.getResult(id)).status, "ready");
    } finally {
      await conn.end();
    }
  });

  test("a pool is refused as tx, and nothing is written", async () => {
    await assert.rejects(stint.enqueue(note, { n: 4 }, { tx: pool, queue: "by_pool" }), (error: unknown) => {
      assert.ok(error instanceof DriverError);
      assert.match(error.message, /not a pool/);
      return true;
    });
    assert.equal(await stint.queue("by_pool").size(), 0);
  });
});

describe("mysql driver transactions", { skip }, () => {
  let access: SqlAccess;
  let table: string;
  before(async () => {
    // A 3 s statement timeout makes the queue sessions' lock wait timeout 1 s.
    ({ access } = await openMysqlAccess({ url: mysqlUrl(), statementTimeoutMs: 3000 }));
    table = `stint_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    await access.run(`CREATE TABLE ${table} (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB`);
    await access.run(`INSERT INTO ${table} (id, v) VALUES (1, 0), (2, 0), (3, 0)`);
  });
  after(async () => {
    await access?.run(`DROP TABLE IF EXISTS ${table}`);
    await access?.close();
  });

  test("a deadlock reruns the victim's whole transaction; each applies once", async () => {
    let runs = 0;
    let arrived = 0;
    let release!: () => void;
    const bothLocked = new Promise<void>((r) => (release = r));
    const crossing = (first: number, second: number) =>
      access.transaction(async (q) => {
        const attempt = ++runs;
        await q.run(`UPDATE ${table} SET v = v + 1 WHERE id = ?`, [first]);
        if (attempt <= 2) {
          if (++arrived === 2) release();
          await bothLocked;
        }
        await q.run(`UPDATE ${table} SET v = v + 1 WHERE id = ?`, [second]);
      });
    await Promise.all([crossing(1, 2), crossing(2, 1)]);
    assert.ok(runs >= 3, `expected a rerun after the deadlock, got ${runs} runs`);
    const rows = await access.query(`SELECT id, v FROM ${table} WHERE id IN (1, 2) ORDER BY id`);
    assert.deepEqual(rows.map((r) => Number(r.v)), [2, 2]);
  });

  test("a lock wait timeout rolls back the attempt and reruns it", async () => {
    const holder: Connection = await rawConnection();
    try {
      await holder.beginTransaction();
      await holder.query(`UPDATE ${table} SET v = v WHERE id = 3`);
      let runs = 0;
      let waiting!: () => void;
      const blocked = new Promise<void>((r) => (waiting = r));
      const done = access.transaction(async (q) => {
        runs++;
        await q.run(`UPDATE ${table} SET v = v + 10 WHERE id = 1`);
        waiting();
        await q.run(`UPDATE ${table} SET v = v + 1 WHERE id = 3`); // waits on the holder
      });
      // Hold the lock longer than one lock wait (1 s), so the first attempt times out.
      await blocked;
      await new Promise((r) => setTimeout(r, 1600));
      await holder.commit();
      await done;
      assert.ok(runs >= 2, `expected a rerun after the lock wait timeout, got ${runs} runs`);
      const rows = await access.query(`SELECT id, v FROM ${table} WHERE id IN (1, 3) ORDER BY id`);
      // The timed-out attempt's first update was rolled back, not kept.
      assert.deepEqual(rows.map((r) => Number(r.v)), [12, 1]);
    } finally {
      await holder.end();
    }
  });

  test("other errors are not retried and arrive as a DriverError with the cause", async () => {
    let runs = 0;
    await assert.rejects(
      access.transaction(async (q) => {
        runs++;
        await q.run(`INSERT INTO ${table} (id, v) VALUES (1, 0)`);
      }),
      (error: unknown) => {
        assert.ok(error instanceof DriverError);
        assert.equal((error.cause as { errno?: number }).errno, 1062);
        assert.equal(isTransient(error.cause), false);
        return true;
      },
    );
    assert.equal(runs, 1);
  });

  test("an error thrown by the transaction's own code passes through unwrapped, after a rollback", async () => {
    const mine = new Error("not the database");
    await assert.rejects(
      access.transaction(async (q) => {
        await q.run(`UPDATE ${table} SET v = 100 WHERE id = 2`);
        throw mine;
      }),
      (error: unknown) => error === mine,
    );
    const rows = await access.query(`SELECT v FROM ${table} WHERE id = 2`);
    assert.notEqual(Number(rows[0].v), 100);
  });
});

describe("mysql actions on one job", { skip }, () => {
  test("cancel and discard wait for a job row another transaction holds, instead of calling it missing", async () => {
    const stint = await createStint({ url: mysqlUrl(), backend: backend(), tasks: [note] });
    const holder = await rawConnection();
    try {
      await stint.migrate();
      const a = await stint.enqueue(note, { n: 1 });
      const b = await stint.enqueue(note, { n: 2 });
      await holder.beginTransaction();
      await holder.query(`SELECT id FROM stint_jobs WHERE id IN (?, ?) FOR UPDATE`, [a.id, b.id]);
      const cancelled = stint.cancel(a.id);
      const discarded = stint.discardJob(b.id);
      await new Promise((r) => setTimeout(r, 200));
      await holder.commit();
      assert.equal((await cancelled).status, "cancelled");
      assert.equal((await discarded).status, "discarded");
      assert.equal((await stint.getResult(a.id)).status, "cancelled");
      assert.equal((await stint.getResult(b.id)).status, "discarded");
    } finally {
      await holder.end();
      await stint.close();
    }
  });
});
