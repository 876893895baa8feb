/**
 * The libSQL driver (embedded SQLite files, or a libSQL server over http/ws).
 *
 * SQLite allows one writer at a time. Inside this process every operation is
 * queued behind the previous one (a promise chain), so the driver never races
 * itself for the write lock; across processes, BEGIN IMMEDIATE meets the
 * client's `timeout` (a short synchronous busy wait in the native code) and, past
 * that, an asynchronous retry with backoff, so a long wait never freezes the
 * event loop — important when the application holds its own write transaction
 * on the same file in the same process.
 */
import { type Client, createClient, type InStatement, type Transaction } from "@libsql/client";
import type { Driver, DriverOptions } from "../../src/driver.ts";
import { DriverError } from "../../src/errors.ts";
import { redactUrl, urlHost, urlPassword } from "../../src/redact.ts";
import type { Migration, Param, Row, SqlAccess, SqlRunner } from "../engine/access.ts";
import { createEngineDriver } from "../engine/engine.ts";
import { applyMigrations } from "../engine/migrations.ts";
import { guardUserTx, type TxIdentity } from "../engine/user-tx.ts";
import { inCauseChain, withNotMigratedError } from "../engine/not-migrated.ts";
import { migrations } from "./schema.ts";

const SYNC_BUSY_MS = 20;

/** host[:port] of a remote URL, for messages. */
function hostOf(url: string): string {
  return urlHost(url) ?? redactUrl(url);
}

/** `text` with the URL's password and auth token (wherever they appear in it) replaced. */
function redactIn(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  const secrets = [urlPassword(url), /[?&]authToken=([^&#]*)/i.exec(url)?.[1]];
  for (const secret of secrets) {
    if (!secret) continue;
    // Node's fetch quotes the URL as its parser writes it back: a raw "@" in the password as %40.
    const forms = new Set([secret, safeDecode(secret), urlEncoded(safeDecode(secret))]);
    for (const form of forms) if (form.length >= 3) out = out.split(form).join("***");
  }
  return out;
}

/** A password as a URL's serialization writes it (percent-encoded where the userinfo needs it). */
function urlEncoded(password: string): string {
  const url = new URL("http://host");
  url.password = password;
  return url.password;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function createLibsqlDriver(options: DriverOptions): Promise<Driver> {
  return openLibsql(options).then((access) => withNotMigratedError(createEngineDriver(access), isMissingTable));
}

/** SQLite's "no such table: stint_…" (the client gives it no code of its own). */
const isMissingTable = (error: unknown) =>
  inCauseChain(error, (e) => /no such table: stint_/i.test(String(e.message ?? "")));

export default createLibsqlDriver;

function runnerOver(target: Client | Transaction): SqlRunner {
  return {
    async query(sql: string, params: Param[] = []): Promise<Row[]> {
      const rs = await target.execute({ sql, args: params } as InStatement);
      return rs.rows as unknown as Row[];
    },
    async run(sql: string, params: Param[] = []): Promise<number> {
      const rs = await target.execute({ sql, args: params } as InStatement);
      return rs.rowsAffected;
    },
  };
}

/** The main database's file, as SQLite resolved it (the same path for every client of one file). */
async function sqliteIdentity(runner: SqlRunner): Promise<TxIdentity> {
  const rows = await runner.query("PRAGMA database_list");
  const main = rows.find((r) => r.name === "main");
  return { database: String(main?.file ?? ""), inTransaction: null };
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? "";
  const message = String((error as { message?: string })?.message ?? "");
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || /database is locked/i.test(message);
}

async function openLibsql(options: DriverOptions): Promise<SqlAccess> {
  const url = options.url;
  const budgetMs = options.statementTimeoutMs ?? 10_000;
  const isFile = url.startsWith("file:");
  let client: Client;
  try {
    client = createClient(
      { url, timeout: SYNC_BUSY_MS, concurrency: 1, intMode: "number" } as Parameters<
        typeof createClient
      >[0],
    );
  } catch (error) {
    // The client's message may repeat the URL, credentials included: only a redacted copy is passed on.
    const message = redactIn(String((error as Error)?.message ?? error), url);
    throw new DriverError(`cannot open libSQL database ${redactUrl(url)}: ${message}`);
  }
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => {});
    return next;
  };
  const pool = runnerOver(client);

  /** `reconnect` false: `fn` opens a connection of its own each time (clientTransaction). */
  async function withBusyRetry<T>(fn: () => Promise<T>, reconnect = true): Promise<T> {
    const deadline = Date.now() + budgetMs;
    for (let attempt = 0;; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error;
        // A statement that failed with SQLITE_BUSY is not reset by the client, and
        // until it is garbage collected its connection cannot COMMIT ("SQL
        // statements in progress"). Every operation here is serialized, so no
        // other one holds a pooled connection: drop them all and start afresh.
        if (reconnect) await client.reconnect();
        await new Promise((r) => setTimeout(r, Math.min(50, 2 + attempt * 3) * (0.5 + Math.random())));
      }
    }
  }

  async function transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return await serial(() =>
      withBusyRetry(async () => {
        const tx = await client.transaction("write");
        try {
          const result = await fn(runnerOver(tx));
          await tx.commit();
          return result;
        } finally {
          tx.close(); // rolls back if not committed
        }
      })
    );
  }

  /**
   * transactionRun's transaction (a transactional task's handler runs in it).
   * On a file it gets a client of its own, one connection, opened for it and
   * closed after: the queue's client has a single pooled connection, which a
   * long transaction would hold from every other operation, and its busy retry
   * reconnects, which would close an open transaction under the handler. Its
   * BEGIN IMMEDIATE waits for the write lock like the queue's statements do
   * (async retries within the statement budget); from then on it holds the
   * lock until the handler is done (SQLite has a single writer). A remote
   * server's transaction is a stream of the queue's client.
   */
  async function clientTransaction<T>(fn: (tx: unknown, runner: SqlRunner) => Promise<T>): Promise<T> {
    let own: Client | null = null;
    let tx: Transaction;
    if (isFile) {
      const open = async () => {
        (own as Client | null)?.close();
        own = createClient({ url, timeout: SYNC_BUSY_MS, concurrency: 1, intMode: "number" } as Parameters<typeof createClient>[0]);
        await own.execute("PRAGMA foreign_keys = ON"); // per connection
        return await own.transaction("write");
      };
      tx = await withBusyRetry(open, false).catch((error) => {
        (own as Client | null)?.close();
        throw error;
      });
    } else {
      tx = await client.transaction("write");
    }
    try {
      const result = await fn(tx, runnerOver(tx));
      await tx.commit();
      return result;
    } finally {
      tx.close(); // rolls back if not committed
      (own as Client | null)?.close();
    }
  }

  if (!isFile) {
    // A remote client connects on its first statement: probe now, so that an unreachable server fails here
    // (naming it) instead of as a raw "fetch failed" at the first enqueue. A server that accepts and never
    // answers would hold fetch for minutes: the probe gets the statement budget.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${budgetMs} ms`)), budgetMs);
    });
    const probe = client.execute("SELECT 1");
    probe.catch(() => {}); // after the deadline nobody listens
    try {
      await Promise.race([probe, deadline]);
    } catch (error) {
      client.close();
      const message = redactIn(String((error as Error)?.message ?? error), url);
      const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
      const detail = cause?.code ?? (cause?.message ? redactIn(cause.message, url) : "");
      throw new DriverError(
        `cannot connect to the libSQL server ${hostOf(url)}: ${message}${detail ? ` (${detail})` : ""}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  if (isFile) {
    await serial(() =>
      withBusyRetry(async () => {
        await client.execute("PRAGMA journal_mode = WAL");
        await client.execute("PRAGMA foreign_keys = ON");
      })
    );
  }

  const access: SqlAccess = {
    dialect: "sqlite",
    capabilities: { overlappingClaims: false },
    query: (sql, params) => serial(() => withBusyRetry(() => pool.query(sql, params))),
    run: (sql, params) => serial(() => withBusyRetry(() => pool.run(sql, params))),
    transaction,
    clientTransaction,
    runnerForUserTx(tx: unknown): SqlRunner {
      const t = tx as Transaction | null;
      // execute() alone would take a mysql2 connection too: a libSQL transaction also has batch() and `closed`.
      if (!t || typeof t.execute !== "function" || typeof t.batch !== "function" || typeof t.closed !== "boolean") {
        throw new DriverError("tx must be a libSQL transaction (from client.transaction())");
      }
      if (t.closed) throw new DriverError("tx is a libSQL transaction that is already closed (committed, rolled back or closed)");
      // A local file names its database; a remote server's transaction cannot be told apart from here.
      return isFile ? guardUserTx(runnerOver(t), sqliteIdentity, () => sqliteIdentity(pool), "libSQL") : runnerOver(t);
    },
    migrations,
    migrate: (list: Migration[]) =>
      transaction((q) =>
        applyMigrations(
          q,
          list,
          `CREATE TABLE IF NOT EXISTS stint_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
        )
      ),
    insertIgnore: (table, columns, rows) =>
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${
        new Array(rows).fill(`(${columns.map(() => "?").join(", ")})`).join(", ")
      } ON CONFLICT DO NOTHING`,
    lockSuffix: "",
    close: () => serial(() => Promise.resolve(client.close())),
  };
  return access;
}
