/**
 * The shared engine's `SqlAccess` over postgres.js.
 *
 * Every statement is a named prepared statement (`prepare: true`), so after its
 * first use on a connection it costs one round trip. `?` placeholders become
 * `$n` once per distinct statement text (statements written with `$n` pass through). int8 columns are parsed to numbers:
 * the engine's times are epoch milliseconds, well inside 2^53.
 */
import type postgres from "postgres";
import { applyMigrations } from "../engine/migrations.ts";
import { DriverError } from "../../src/errors.ts";
import type { Migration, Param, Row, SqlAccess, SqlRunner } from "../engine/access.ts";
import { migrations } from "./schema.ts";
import { likePrefix } from "../engine/selectors.ts";
import { guardUserTx, type TxIdentity } from "../engine/user-tx.ts";
import { endPool } from "./open.ts";

export type Sql = postgres.Sql<any>;
/** What postgres.js hands to `sql.begin(async (tx) => …)`: anything with `unsafe`. */
export type TxSql = postgres.TransactionSql<any>;

/** Serialization failures and deadlocks: the whole transaction is retried. */
const TRANSIENT = new Set(["40001", "40P01"]);
/** The server closed the connection (postgres.js codes, and admin/crash shutdown, still starting). */
const CONNECTION_LOST = new Set(["CONNECTION_CLOSED", "ECONNRESET", "EPIPE", "57P01", "57P02", "57P03"]);
const MAX_TX_ATTEMPTS = 5;
const MIGRATION_LOCK_KEY = 7_451_309_276_001; // pg_advisory_xact_lock key, arbitrary and fixed

const rewritten = new Map<string, string>();

/** `?` → `$1, $2, …`, leaving quoted literals and identifiers alone. Cached by text. */
export function numbered(sql: string): string {
  const hit = rewritten.get(sql);
  if (hit !== undefined) return hit;
  let out = "";
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === "?") {
      out += `$${++n}`;
      continue;
    }
    out += ch;
  }
  if (rewritten.size > 5000) rewritten.clear();
  rewritten.set(sql, out);
  return out;
}

/**
 * LIMIT goes into the text, not a parameter: a generic plan for `LIMIT $n`
 * assumes a tenth of the table and picks hash joins over sequential scans, so
 * PostgreSQL would plan the statement afresh on every call. A literal gives one
 * cached generic plan per batch size, with index scans.
 */
export function literalLimit(limit: number): number {
  return Math.max(1, Math.min(100_000, Math.floor(limit)));
}

/**
 * Errors worth running the same work again for: serialization failures and
 * deadlocks (rolled back whole, retried a few times), and a connection the
 * server closed (restart, failover, idle kill: postgres.js notices only when
 * it next uses it; a fresh connection is opened for the retry, which is made
 * once). A statement cut off mid-flight was rolled back unless its COMMIT had
 * already happened; the runtime's own retries carry the same small risk.
 */
export function retryable(error: unknown, attempt: number): boolean {
  const code = (error as { code?: string })?.code ?? "";
  if (TRANSIENT.has(code)) return attempt < MAX_TX_ATTEMPTS;
  return CONNECTION_LOST.has(code) && attempt < 2;
}

export async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!retryable(error, attempt)) throw error;
      await new Promise((r) => setTimeout(r, attempt * 5 * (0.5 + Math.random())));
    }
  }
}

/**
 * A runner over the pool (each statement its own transaction, so `retry` may
 * run it again) or over a transaction (ours or the caller's: never retried
 * statement by statement).
 */
export function runnerOver(target: Pick<Sql, "unsafe">, options: { retry: boolean }): SqlRunner {
  const exec = (sql: string, params: Param[]) => {
    const once = () => target.unsafe(numbered(sql), params as never[], { prepare: true });
    return options.retry ? withRetry(once) : once();
  };
  return {
    async query(sql: string, params: Param[] = []): Promise<Row[]> {
      return await exec(sql, params) as Row[];
    },
    async run(sql: string, params: Param[] = []): Promise<number> {
      return (await exec(sql, params)).count ?? 0;
    },
  };
}

function isUserTx(tx: unknown): tx is TxSql {
  return typeof tx === "function" && typeof (tx as { unsafe?: unknown }).unsafe === "function" &&
    typeof (tx as { savepoint?: unknown }).savepoint === "function";
}

/** The caller's `tx`, checked: a postgres.js transaction from `sql.begin(async (tx) => …)`. */
export function userTx(tx: unknown): TxSql {
  if (!isUserTx(tx)) {
    throw new DriverError("tx must be a postgres.js transaction (the `tx` that sql.begin(async (tx) => …) passes)");
  }
  return tx;
}

/**
 * The server (its port and start time: not its address, which differs between
 * localhost and 127.0.0.1) and database. The port is the server's setting:
 * inet_server_port() is null over the Unix socket, and a client there reaches
 * the same database as one over TCP. Inside a transaction block the
 * statement started after the transaction did; a postgres.js `tx` used after
 * its sql.begin() ended runs each statement as its own transaction.
 */
async function pgIdentity(runner: SqlRunner): Promise<TxIdentity> {
  const [row] = await runner.query(
    `SELECT current_database() AS db, current_setting('port') AS port, pg_postmaster_start_time()::text AS started,
      transaction_timestamp() < statement_timestamp() AS in_block`,
  );
  return { database: `${String(row?.db)} (port ${String(row?.port)}, up since ${String(row?.started)})`, inTransaction: row?.in_block === true };
}

export function createAccess(sql: Sql): SqlAccess {
  const pool = runnerOver(sql, { retry: true });

  function transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return withRetry(() => sql.begin((tx) => fn(runnerOver(tx, { retry: false }))) as Promise<T>);
  }

  /**
   * Two processes may migrate at once: the advisory lock (released at commit)
   * makes the second wait and then find every version applied. DDL is
   * transactional here, so a failed migration leaves nothing behind.
   */
  function migrate(list: Migration[]): Promise<number[]> {
    return transaction(async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      return await applyMigrations(
        q,
        list,
        `CREATE TABLE IF NOT EXISTS stint_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
    });
  }

  return {
    dialect: "postgres",
    capabilities: { overlappingClaims: true },
    query: pool.query,
    run: pool.run,
    transaction,
    runnerForUserTx: (tx) => guardUserTx(runnerOver(userTx(tx), { retry: false }), pgIdentity, () => pgIdentity(pool), "postgres.js"),
    // A connection of the pool for the whole of `fn`; postgres.js rolls back when `fn` throws (after any statement of it still running).
    clientTransaction: <T>(fn: (tx: unknown, runner: SqlRunner) => Promise<T>) =>
      sql.begin((tx) => fn(tx, runnerOver(tx, { retry: false }))) as Promise<T>,
    migrations,
    migrate,
    insertIgnore: (table, columns, rows) =>
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${
        new Array(rows).fill(`(${columns.map(() => "?").join(", ")})`).join(", ")
      } ON CONFLICT DO NOTHING`,
    lockSuffix: "FOR UPDATE SKIP LOCKED",
    // Case-sensitive here, and an index range can serve it (the engine's claim, on the engine-only target).
    prefixMatch: likePrefix,
    close: () => endPool(sql, 5),
  };
}
