/**
 * The MySQL 8 / MariaDB 10.6+ driver, over a mysql2 pool.
 *
 * MySQL has no RETURNING, so the shared engine's statements fit it as they are:
 * a claim is `SELECT … FOR UPDATE SKIP LOCKED`, then the writes, in one
 * transaction. Deadlocks and lock wait timeouts are expected under load; the
 * whole transaction runs again (with a short jittered backoff) before anything
 * reaches the caller.
 *
 * Statements go through mysql2's text protocol (`query`, values escaped by the
 * client), not server-side prepared statements (`execute`): the engine's batches
 * and IN lists have as many shapes as they have lengths, and mysql2 keeps every
 * prepared shape open per connection, which would run into the server-wide
 * max_prepared_stmt_count (16382 by default) and costs a prepare round trip on
 * each new shape anyway. Queue sessions set their own sql_mode, so the client's
 * backslash escaping is always valid (on a caller's connection, passed as `tx`,
 * it is the same escaping the caller's own mysql2 statements rely on).
 */
import mysql, { type Pool, type PoolConnection, type ResultSetHeader } from "mysql2/promise";
import type { Driver, DriverOptions } from "../../src/driver.ts";
import { DriverError } from "../../src/errors.ts";
import type { Migration, Param, Row, SqlAccess, SqlRunner } from "../engine/access.ts";
import { createEngineDriver } from "../engine/engine.ts";
import { inCauseChain, namesStintTable, withNotMigratedError } from "../engine/not-migrated.ts";
import { jobCancel } from "../engine/jobCancel.ts";
import { jobDiscardMany } from "../engine/jobDiscardMany.ts";
import { jobRetryMany } from "../engine/jobRetryMany.ts";
import { likePrefix } from "../engine/selectors.ts";
import { mariadb106FieldEquals, mariadbFieldEquals, mysqlFieldEquals } from "../engine/json-where.ts";
import { connectError, driverError, isFatal, isTransient } from "./errors.ts";
import { guardUserTx, type TxIdentity } from "../engine/user-tx.ts";
import { migrateMysql } from "./migrations.ts";
import { jobFinishMany } from "./jobFinishMany.ts";
import { jobInsertMany } from "./jobInsertMany.ts";
import { textBudget } from "./limits.ts";
import { migrations } from "./schema.ts";
import { parseMysqlUrl } from "./url.ts";

const MAX_ATTEMPTS = 12;

export async function createMysqlDriver(options: DriverOptions): Promise<Driver> {
  const { access, server } = await openMysqlAccess(options);
  const driver = createEngineDriver(access);
  // Acting on one named job must wait for a row another transaction holds for a
  // moment (a claim, a finish), not skip it: with SKIP LOCKED, cancel and
  // discard would report an existing job as missing.
  const waiting: SqlAccess = { ...access, lockSuffix: "FOR UPDATE" };
  const budget = textBudget(server.maxAllowedPacket);
  return withNotMigratedError({
    ...driver,
    jobInsertMany: (p) => jobInsertMany(access, { maxAllowedPacket: server.maxAllowedPacket, budget }, p),
    jobFinishMany: (p) => jobFinishMany(access, budget, p),
    jobCancel: (p) => jobCancel(waiting, p),
    jobDiscardMany: (p) => jobDiscardMany(waiting, p),
    jobRetryMany: (p) => jobRetryMany(waiting, p),
  }, isMissingTable);
}

/** JSON equality as the server has it: MariaDB's JSON is text (JSON_EQUALS from 10.7). */
function fieldEqualsFor(server: Server) {
  if (server.flavor === "mysql") return mysqlFieldEquals;
  const [major, minor] = server.version.split(/[.-]/).map(Number);
  return major > 10 || (major === 10 && minor >= 7) ? mariadbFieldEquals : mariadb106FieldEquals;
}

/** ER_NO_SUCH_TABLE (1146) on one of the queue's tables (the client's error is the DriverError's cause). */
const isMissingTable = (error: unknown) => inCauseChain(error, (e) => e.errno === 1146 && namesStintTable(e));

export default createMysqlDriver;

interface Queryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

export interface Server {
  flavor: "mysql" | "mariadb";
  version: string;
  /** Keeps REPEATABLE READ when statement-based binary logging forbids READ COMMITTED. */
  statementBinlog: boolean;
  maxAllowedPacket: number;
}

function runnerOver(target: Queryable): SqlRunner {
  return {
    async query(sql: string, params: Param[] = []): Promise<Row[]> {
      const [rows] = await target.query(sql, params);
      return rows as Row[];
    },
    async run(sql: string, params: Param[] = []): Promise<number> {
      const [result] = await target.query(sql, params);
      return (result as ResultSetHeader).affectedRows;
    },
  };
}

const backoff = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.min(100, 2 ** attempt) * (0.5 + Math.random())));

/** The SqlAccess over a mysql2 pool, and what the probe learned of the server (exported for tests). */
export async function openMysqlAccess(options: DriverOptions): Promise<{ access: SqlAccess; server: Server }> {
  const target = parseMysqlUrl(options.url);
  const { label } = target;
  const timeoutMs = options.statementTimeoutMs ?? 30_000;
  const pool = mysql.createPool(target.pool);
  let sessionSql: string | null = null;
  // The event hands over mysql2's callback-style connection, before the requester
  // gets it; commands run in order, so the settings precede its first statement.
  pool.on("connection", (conn) => {
    const core = conn as unknown as { query(sql: string, cb: (error: unknown) => void): void; destroy(): void };
    if (sessionSql) core.query(sessionSql, (error) => error && core.destroy());
  });

  let server: Server;
  try {
    server = await probe(pool, label, target.database);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  sessionSql = sessionSettings(server, timeoutMs);
  const unlimitedSql = server.flavor === "mariadb"
    ? "SET SESSION max_statement_time = 0"
    : "SET SESSION max_execution_time = 0";
  // The probe's connection predates the settings.
  await pool.query(sessionSql).catch(async (error) => {
    await pool.end().catch(() => {});
    throw driverError(error, label, "session settings");
  });

  const poolRunner = runnerOver(pool as unknown as Queryable);

  /** A single autocommit statement rolls back whole on a deadlock, so it can simply run again. */
  async function retried<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1;; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isTransient(error) || attempt >= MAX_ATTEMPTS) throw driverError(error, label);
        await backoff(attempt);
      }
    }
  }

  async function transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    for (let attempt = 1;; attempt++) {
      let conn: PoolConnection;
      try {
        conn = await pool.getConnection();
      } catch (error) {
        throw driverError(error, label, "no connection");
      }
      let broken = false;
      let committing = false;
      try {
        await conn.query("START TRANSACTION");
        const result = await fn(runnerOver(conn as unknown as Queryable));
        committing = true;
        await conn.query("COMMIT");
        return result;
      } catch (error) {
        broken = isFatal(error);
        // A lock wait timeout rolls back only its statement: end the transaction here.
        if (!broken) await conn.query("ROLLBACK").catch(() => (broken = true));
        // A connection lost before COMMIT was sent committed nothing (a stale pooled
        // connection after a server restart): run again once on a fresh one. Lost
        // during COMMIT, the outcome is unknown, so the caller hears of it.
        const again = isTransient(error) ? attempt < MAX_ATTEMPTS : broken && !committing && attempt < 2;
        if (!again) throw driverError(error, label);
      } finally {
        if (broken) conn.destroy();
        else conn.release();
      }
      await backoff(attempt);
    }
  }

  /**
   * transactionRun's transaction: a pooled connection (with the queue's session
   * settings: READ COMMITTED, short lock waits) for the whole of `fn`. Never
   * retried: `fn` is the caller's work. A connection that broke is destroyed.
   */
  async function clientTransaction<T>(fn: (tx: unknown, runner: SqlRunner) => Promise<T>): Promise<T> {
    let conn: PoolConnection;
    try {
      conn = await pool.getConnection();
    } catch (error) {
      throw driverError(error, label, "no connection");
    }
    let broken = false;
    try {
      await conn.query("START TRANSACTION");
      const result = await fn(conn, runnerOver(conn as unknown as Queryable));
      await conn.query("COMMIT");
      return result;
    } catch (error) {
      broken = isFatal(error);
      if (!broken) await conn.query("ROLLBACK").catch(() => (broken = true));
      throw error;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  /** Where the pool is connected, learned at the first enqueue with a tx. */
  let ownIdentity: Promise<TxIdentity> | null = null;
  const access: SqlAccess = {
    dialect: "mysql",
    capabilities: { overlappingClaims: false },
    query: (sql, params) => retried(() => poolRunner.query(sql, params)),
    run: (sql, params) => retried(() => poolRunner.run(sql, params)),
    transaction,
    clientTransaction,
    runnerForUserTx(tx: unknown): SqlRunner {
      const runner = userTxRunner(tx);
      // async: an ended connection throws from query() itself, not in a rejected promise.
      const wrapped: SqlRunner = {
        query: async (sql, params) => await runner.query(sql, params).catch((e) => Promise.reject(driverError(e, label))),
        run: async (sql, params) => await runner.run(sql, params).catch((e) => Promise.reject(driverError(e, label))),
      };
      ownIdentity ??= mysqlIdentity(access).catch((error) => {
        ownIdentity = null;
        throw error;
      });
      return guardUserTx(wrapped, mysqlIdentity, () => ownIdentity!, "mysql2");
    },
    migrations,
    migrate: (list: Migration[]) => migrateMysql(pool, label, target.database, unlimitedSql, list),
    insertIgnore: (table, columns, rows) =>
      `INSERT IGNORE INTO ${table} (${columns.join(", ")}) VALUES ${
        new Array(rows).fill(`(${columns.map(() => "?").join(", ")})`).join(", ")
      }`,
    lockSuffix: "FOR UPDATE SKIP LOCKED",
    // LIKE is case-sensitive under the binary collation, and an index range can serve it.
    prefixMatch: likePrefix,
    fieldEquals: fieldEqualsFor(server),
    close: () => pool.end(),
  };
  return { access, server };
}

/** The server (by its own name and port) and the schema a connection uses. */
async function mysqlIdentity(runner: SqlRunner): Promise<TxIdentity> {
  const [row] = await runner.query("SELECT DATABASE() AS db, @@hostname AS host, @@port AS port");
  return { database: `${String(row?.host)}:${String(row?.port)}/${String(row?.db)}`, inTransaction: null };
}

/**
 * The caller's transaction: a mysql2 promise Connection or PoolConnection on
 * which they ran beginTransaction(), or a callback-style one (wrapped with its
 * own `.promise()`). A pool is refused: its statements would run outside the
 * caller's transaction and commit on their own.
 */
function userTxRunner(tx: unknown): SqlRunner {
  const t = tx as Record<string, unknown> | null;
  const shape = "tx must be a mysql2 connection on which beginTransaction() was called";
  if (!t || typeof t !== "object" || typeof t.query !== "function") throw new DriverError(shape);
  if (typeof t.getConnection === "function") throw new DriverError(`${shape}, not a pool`);
  // A promise connection wraps the core one as `.connection`; a core one offers `.promise()`.
  const isPromise = typeof (t.connection as Record<string, unknown> | undefined)?.promise === "function";
  if (isPromise) return runnerOver(t as unknown as Queryable);
  if (typeof t.promise === "function") return runnerOver((t.promise as () => Queryable).call(t));
  throw new DriverError(shape);
}

async function probe(pool: Pool, label: string, database: string): Promise<Server> {
  let rows: unknown;
  try {
    [rows] = await pool.query(
      `SELECT VERSION() AS version, @@log_bin AS log_bin, @@binlog_format AS binlog_format,
      @@max_allowed_packet AS max_allowed_packet`,
    );
  } catch (error) {
    throw connectError(error, label, database);
  }
  const r = (rows as Array<Record<string, unknown>>)[0];
  const version = String(r.version);
  const flavor = /mariadb/i.test(version) ? "mariadb" : "mysql";
  const [major, minor] = version.split(/[.-]/).map(Number);
  const ok = flavor === "mariadb" ? major > 10 || (major === 10 && minor >= 6) : major >= 8;
  if (!ok) {
    throw new DriverError(
      `mysql ${label}: stint needs MySQL 8.0+ or MariaDB 10.6+ (FOR UPDATE SKIP LOCKED); the server is ${version}`,
    );
  }
  const statementBinlog = Number(r.log_bin) === 1 && String(r.binlog_format).toUpperCase() === "STATEMENT";
  return { flavor, version, statementBinlog, maxAllowedPacket: Number(r.max_allowed_packet) };
}

/**
 * Settings for the queue's own sessions (never the caller's connection).
 *
 * READ COMMITTED, deliberately: InnoDB then takes no gap or next-key locks on
 * index scans, so an enqueue inserting into stint_ready_executions never waits
 * behind a claimer's range scan (nor deadlocks with it), and rows a locking read
 * examines but rejects (paused queues, other backends) are unlocked at once.
 * The engine does not rely on a snapshot repeating within a transaction, and each
 * statement seeing the newest commits is what makes a pause committed a moment
 * earlier visible to the claim. (Statement-based binary logging refuses READ COMMITTED; then the server
 * default stays.)
 *
 * Lock waits are kept short: the queue's transactions last milliseconds, and a
 * wait that times out is retried with the whole transaction. The statement
 * timeout is `max_statement_time` (seconds, every statement) on MariaDB and
 * `max_execution_time` (milliseconds, SELECT only) on MySQL.
 */
function sessionSettings(server: Server, timeoutMs: number): string {
  const sets = [`sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'`];
  // Well inside the statement timeout, so a lock wait ends as a (retried) lock wait timeout.
  const lockWaitS = Math.max(1, Math.min(5, Math.floor(timeoutMs / 2000)));
  sets.push(`innodb_lock_wait_timeout = ${lockWaitS}`);
  if (!server.statementBinlog) {
    sets.push(`${server.flavor === "mariadb" ? "tx_isolation" : "transaction_isolation"} = 'READ-COMMITTED'`);
  }
  const ms = Math.max(0, Math.round(timeoutMs));
  sets.push(server.flavor === "mariadb" ? `max_statement_time = ${ms / 1000}` : `max_execution_time = ${ms}`);
  return `SET SESSION ${sets.join(", ")}`;
}
