/** How the MySQL driver classifies and reports the client's errors. */
import { DriverError } from "../../src/errors.ts";

interface MysqlError {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  message?: string;
  sql?: string;
  fatal?: boolean;
}

/**
 * Errors that are expected under load and go away when the whole transaction
 * runs again: a deadlock (InnoDB already rolled the transaction back), a lock
 * wait timeout (only the statement was rolled back; the driver rolls back the
 * rest), and MariaDB's "record has changed since last read" (snapshot isolation).
 */
const TRANSIENT = new Set([1213, 1205, 1020]);

export function isTransient(error: unknown): boolean {
  const e = error as MysqlError | null;
  return typeof e?.errno === "number" && TRANSIENT.has(e.errno);
}

/** The connection itself is gone, so it must not go back to the pool. */
export function isFatal(error: unknown): boolean {
  return (error as MysqlError | null)?.fatal === true;
}

/**
 * Wraps a client error in a DriverError naming the server. mysql2 puts the whole
 * statement, values included, on `error.sql`; a bulk insert's text can run to
 * megabytes of payloads, so only its start is kept on the cause.
 */
export function driverError(error: unknown, label: string, what = "query failed"): unknown {
  const e = error as MysqlError | null;
  // Errors thrown by the code inside a transaction are not the database's.
  if (error instanceof DriverError || !e || (e.errno === undefined && e.code === undefined)) return error;
  if (e && typeof e.sql === "string" && e.sql.length > 300) e.sql = `${e.sql.slice(0, 300)}…`;
  const code = e?.code ? ` (${e.code})` : "";
  const message = e?.sqlMessage ?? e?.message ?? String(error);
  return new DriverError(`mysql ${label}: ${what}: ${message}${code}`, { cause: error });
}

/** A DriverError for a failed connection attempt, with the reason in plain words. */
export function connectError(error: unknown, label: string, database: string): DriverError {
  const e = error as MysqlError | null;
  const code = e?.code ?? "";
  let reason: string;
  if (code === "ECONNREFUSED") reason = "connection refused (is the server running on that port?)";
  else if (code === "ETIMEDOUT" || code === "ETIMEOUT") reason = "timed out connecting";
  else if (code === "ENOTFOUND" || code === "EAI_AGAIN") reason = "unknown host";
  else if (code === "ER_ACCESS_DENIED_ERROR") reason = "access denied (check the user and password)";
  else if (code === "ER_BAD_DB_ERROR") reason = `database ${JSON.stringify(database)} does not exist`;
  else reason = e?.sqlMessage ?? e?.message ?? String(error);
  if (code && !reason.includes(code)) reason += ` [${code}]`;
  return new DriverError(`mysql: cannot connect to ${label}: ${reason}`, { cause: error });
}
