/**
 * ctx.tx (DESIGN §11): the client's own transaction object, behind a Proxy
 * that refuses every use once the transaction is over. A handler that keeps
 * ctx.tx (or one of its methods) past its return, or goes on after a timeout
 * rolled its work back, would otherwise run statements outside any
 * transaction: a finished postgres.js `tx` runs each statement on its own, a
 * released mysql2 connection goes back to the pool. Those throw a
 * TransactionError instead, before anything reaches the database.
 *
 * The Proxy's target is the object itself, so it is still what the client's
 * code expects: a postgres.js `sql` is a tagged-template function (the apply
 * trap), a libSQL Transaction and a mysql2 connection are objects whose
 * methods use private state (they are called on the object, not the Proxy).
 * Methods that would end the transaction behind Stint's back are refused:
 * it commits when the handler returns, and a throw rolls it back.
 */
import { TransactionError } from "../errors.ts";

/** Methods that commit, roll back, or give the connection away (libSQL Transaction, mysql2 connection, postgres.js). */
const ENDING = new Set(["commit", "rollback", "close", "beginTransaction", "release", "destroy", "end"]);

export class TxGuard {
  /** Why the transaction is over, once it is. */
  #ended: string | null = null;
  readonly #jobId: string;
  readonly #tx: unknown;

  constructor(tx: unknown, jobId: string) {
    this.#jobId = jobId;
    const check = () => this.#check();
    // deno-lint-ignore ban-types
    const handler: ProxyHandler<object & Function> = {
      get(target, key) {
        check();
        if (typeof key === "string" && ENDING.has(key)) {
          return () => {
            throw new TransactionError(
              `ctx.tx.${key}(): the transaction is Stint's; it commits when the handler returns, and a throw rolls it back`,
            );
          };
        }
        const value = Reflect.get(target, key, target);
        if (typeof value !== "function") return value;
        const own = Reflect.getOwnPropertyDescriptor(target, key);
        if (own && !own.configurable && !own.writable) return value; // a Proxy must return these as they are
        // Called on the object itself (private state), and refused later like the rest.
        return function (this: unknown, ...args: unknown[]) {
          check();
          return Reflect.apply(value, target, args);
        };
      },
      apply(target, thisArg, args) {
        check();
        return Reflect.apply(target, thisArg, args);
      },
      set(target, key, value) {
        check();
        return Reflect.set(target, key, value, target);
      },
      has(target, key) {
        check();
        return Reflect.has(target, key);
      },
    };
    this.#tx = new Proxy(tx as object & ((...args: unknown[]) => unknown), handler);
  }

  /** What ctx.tx returns, while the transaction is open. */
  get tx(): unknown {
    this.#check();
    return this.#tx;
  }

  /** Every later use throws, saying `why`. */
  end(why: string): void {
    this.#ended ??= why;
  }

  #check(): void {
    if (this.#ended !== null) {
      throw new TransactionError(`ctx.tx of job ${this.#jobId} used after ${this.#ended}: nothing was run`);
    }
  }
}
