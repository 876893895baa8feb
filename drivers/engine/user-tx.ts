/**
 * The caller's `tx` (enqueue's option), checked before the first statement in
 * it: it must reach the same database as Stint's own client, and still be an
 * open transaction. A tx from another database would insert the job where no
 * runtime looks (or fail with "no such table"); a finished postgres.js
 * transaction runs statements on its connection outside any transaction, so
 * the job would commit on its own whatever the caller then did.
 */
import { DriverError } from "../../src/errors.ts";
import type { Row, SqlRunner } from "./access.ts";

/** What one connection says about where it is; `inTransaction` is null where it cannot be told. */
export interface TxIdentity {
  database: string;
  inTransaction: boolean | null;
}

export type IdentityOf = (runner: SqlRunner) => Promise<TxIdentity>;

/**
 * Wraps the caller's runner so that its first statement is preceded by the
 * check. A connection that cannot even answer it (closed, ended) is a
 * DriverError that says it came from `tx`.
 */
export function guardUserTx(
  runner: SqlRunner,
  identityOf: IdentityOf,
  own: () => Promise<TxIdentity>,
  client: string,
): SqlRunner {
  let checked: Promise<void> | null = null;
  const check = () =>
    checked ??= (async () => {
      const [theirs, ours] = await Promise.all([fromTx(() => identityOf(runner), client), own()]);
      if (theirs.database !== ours.database) {
        throw new DriverError(
          `tx is connected to another database (${theirs.database}) than this Stint instance (${ours.database}): ` +
            `pass a transaction of a ${client} client on the same database`,
        );
      }
      if (theirs.inTransaction === false) {
        throw new DriverError(`tx is not an open transaction (has its ${client} transaction already ended?)`);
      }
    })();
  return {
    query: async (sql, params) => {
      await check();
      return await runner.query(sql, params);
    },
    run: async (sql, params) => {
      await check();
      return await runner.run(sql, params);
    },
  };
}

/** Runs `fn` on the caller's connection; a raw client error (a closed connection, …) becomes a DriverError naming tx. */
async function fromTx<T>(fn: () => Promise<T>, client: string): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof DriverError) throw error;
    const message = String((error as { message?: unknown })?.message ?? error);
    throw new DriverError(`tx (a ${client} transaction) cannot run statements: ${message}`, { cause: error });
  }
}

/** The first row's columns as strings, for identity queries. */
export function rowText(rows: Row[], column: string): string {
  const value = rows[0]?.[column];
  return value === null || value === undefined ? "" : String(value);
}
