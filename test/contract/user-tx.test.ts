/**
 * enqueue's `tx` option, against every target: a transaction of another
 * client, of another database, or one that has already ended is a StintError
 * naming the problem, and no job is written anywhere. A good one still works.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import postgres from "postgres";
import mysql from "mysql2/promise";
import { createStint, defineTask, type Stint, StintError } from "../../mod.ts";
import { driverFor, type Target, targetsWithEngine } from "../support/targets.ts";
import { uniqueBackend, withDatabase } from "../support/harness.ts";
import * as pg from "../postgres/env.ts";
import * as my from "../mysql/env.ts";

const note = defineTask("note", () => null);

interface TxKit {
  /** Runs `fn` inside an open transaction of the client's own kind on `url`, then commits. */
  inTx(url: string, fn: (tx: unknown) => Promise<void>): Promise<void>;
  /** A transaction on `url` that has already ended, and how to let go of its client. */
  ended(url: string): Promise<{ tx: unknown; done(): Promise<void> }>;
  /** A second database with nothing in it, for `fn`; why it cannot be had otherwise. */
  otherDatabase(target: Target, fn: (url: string) => Promise<void>): Promise<void>;
  otherDatabaseSkip(): Promise<string | undefined>;
}

const kits: Record<Target["dialect"], TxKit> = {
  libsql: {
    async inTx(url, fn) {
      const client = createClient({ url });
      const tx = await client.transaction("write");
      try {
        await fn(tx);
        await tx.commit();
      } finally {
        tx.close();
        client.close();
      }
    },
    async ended(url) {
      const client = createClient({ url });
      const tx = await client.transaction("write");
      await tx.commit();
      return { tx, done: () => Promise.resolve(client.close()) };
    },
    otherDatabase: (target, fn) => withDatabase(target, fn),
    otherDatabaseSkip: () => Promise.resolve(undefined),
  },
  postgres: {
    async inTx(url, fn) {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.begin(async (tx) => await fn(tx));
      } finally {
        await sql.end();
      }
    },
    async ended(url) {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      let kept: unknown;
      await sql.begin(async (tx) => {
        kept = tx;
        await tx.unsafe("SELECT 1");
      });
      return { tx: kept, done: () => sql.end() };
    },
    otherDatabase: (_target, fn) => pg.withFreshDatabase(fn),
    otherDatabaseSkip: () => pg.freshDatabaseSkip(),
  },
  mysql: {
    async inTx(url, fn) {
      const conn = await mysql.createConnection(url);
      try {
        await conn.beginTransaction();
        await fn(conn);
        await conn.commit();
      } finally {
        await conn.end();
      }
    },
    async ended(url) {
      const conn = await mysql.createConnection(url);
      await conn.beginTransaction();
      await conn.end();
      return { tx: conn, done: async () => {} };
    },
    otherDatabase: (_target, fn) => my.withFreshDatabase(fn),
    otherDatabaseSkip: () => my.freshDatabaseSkip(),
  },
};

/** Look-alikes of the other clients' transaction objects (shapes only: the check must not need a server). */
const resolved = (value: unknown) => () => Promise.resolve(value);
const foreign: Record<Target["dialect"], unknown> = {
  libsql: { execute: resolved({ rows: [] }), batch: resolved([]), commit: resolved(undefined), closed: false },
  postgres: Object.assign(resolved([]), { unsafe: resolved([]), savepoint: resolved(undefined) }),
  mysql: { query: resolved([[]]), execute: resolved([[]]), connection: { promise: () => ({}) } },
};

function refusedTx(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof StintError, `expected a StintError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

async function nothingWritten(stint: Stint): Promise<void> {
  assert.deepEqual(await stint.listJobs("ready"), []);
}

async function withTwo(url: string, backend: string, fn: (stint: Stint) => Promise<void>): Promise<void> {
  const stint = await createStint({ url, backend, tasks: [note], driver: await driverFor(url) });
  try {
    await stint.migrate();
    await fn(stint);
  } finally {
    await stint.close();
  }
}

for (const target of targetsWithEngine) {
  const kit = kits[target.dialect];
  describe(target.name, { skip: target.skip }, () => {
    describe("enqueue's tx option", () => {
      test("a transaction of another client is refused", () =>
        withDatabase(target, (url) =>
          withTwo(url, uniqueBackend(), async (stint) => {
            for (const [name, tx] of Object.entries(foreign)) {
              if (name === target.dialect) continue;
              await assert.rejects(stint.enqueue(note, null, { tx }), refusedTx(/tx must be/), `a ${name} look-alike`);
            }
            await nothingWritten(stint);
          })));

      test("a transaction on another database is refused, and nothing is written in either", async (t) => {
        const skip = target.skip ?? await kit.otherDatabaseSkip();
        if (skip) return t.skip(skip);
        await withDatabase(target, (url) =>
          kit.otherDatabase(target, async (otherUrl) => {
            const backend = uniqueBackend();
            // The other database has Stint's tables and the same backend: a misplaced job would land there silently.
            await withTwo(otherUrl, backend, async (other) => {
              await withTwo(url, backend, async (stint) => {
                await kit.inTx(otherUrl, async (tx) => {
                  await assert.rejects(stint.enqueue(note, null, { tx }), refusedTx(/another database/));
                });
                await nothingWritten(stint);
                await nothingWritten(other);
              });
            });
          }));
      });

      test("a transaction that has ended is refused", () =>
        withDatabase(target, (url) =>
          withTwo(url, uniqueBackend(), async (stint) => {
            const { tx, done } = await kit.ended(url);
            try {
              await assert.rejects(stint.enqueue(note, null, { tx }), refusedTx(/closed|ended|not an open transaction/));
            } finally {
              await done();
            }
            await nothingWritten(stint);
          })));

      test("an open transaction on the same database still works", () =>
        withDatabase(target, (url) =>
          withTwo(url, uniqueBackend(), async (stint) => {
            let id = "";
            await kit.inTx(url, async (tx) => {
              ({ id } = await stint.enqueue(note, null, { tx }));
            });
            assert.equal((await stint.getResult(id)).status, "ready");
          })));
    });
  });
}
