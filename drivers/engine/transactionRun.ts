/**
 * Driver.transactionRun: the caller's work (a transactional task's handler,
 * DESIGN §11) in a transaction of the driver's own client, on the queue's
 * database, handed the client's own transaction object. It commits when `fn`
 * resolves and rolls back when it throws; it is never retried (the work is
 * the caller's, and may not be safe to run twice).
 *
 * jobFinishMany({ tx }) with the object handed out here runs on the
 * transaction's runner directly: the identity check that guards a caller's
 * own `tx` (user-tx.ts) would only cost a round trip per job here.
 */
import type { SqlAccess, SqlRunner } from "./access.ts";

/** Transactions open in transactionRun, by the client's object: the access that opened it, and its runner. */
const open = new WeakMap<object, { access: SqlAccess; runner: SqlRunner }>();

export function transactionRun<T>(access: SqlAccess, p: { fn: (tx: unknown) => Promise<T> }): Promise<T> {
  return access.clientTransaction(async (tx, runner) => {
    open.set(tx as object, { access, runner });
    try {
      return await p.fn(tx);
    } finally {
      open.delete(tx as object);
    }
  });
}

/** The runner for a `tx` option: transactionRun's own transaction as it is, a caller's one checked. */
export function runnerForTx(access: SqlAccess, tx: unknown): SqlRunner {
  const own = typeof tx === "object" || typeof tx === "function" ? open.get(tx as object) : undefined;
  return own?.access === access ? own.runner : access.runnerForUserTx(tx);
}
