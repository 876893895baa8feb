/**
 * Before migrate(), every statement meets a missing table, and the client's
 * own error ("no such table: stint_jobs", with its stack) does not say what to
 * do. Each driver recognises its database's "table does not exist" error for a
 * stint table; this wrapper turns it into a NotMigratedError on every method,
 * at no cost on the normal path (only a rejection is looked at).
 */
import type { Driver } from "../../src/driver.ts";
import { NotMigratedError } from "../../src/errors.ts";

/** Whether `error`, or an error in its `cause` chain, matches `test`. */
export function inCauseChain(error: unknown, test: (e: Record<string, unknown>) => boolean): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === "object" && depth < 8; depth++) {
    if (test(e as Record<string, unknown>)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A message naming one of the queue's tables. */
export const namesStintTable = (e: Record<string, unknown>): boolean => /\bstint_/.test(String(e.message ?? ""));

/** Methods that need no table of the queue (migrate creates them). */
const UNCHECKED = new Set(["migrate", "close", "listen"]);

export function withNotMigratedError(driver: Driver, isMissingTable: (error: unknown) => boolean): Driver {
  const wrapped: Record<string, unknown> = { ...driver };
  for (const [name, value] of Object.entries(driver)) {
    if (typeof value !== "function" || UNCHECKED.has(name)) continue;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await (value as (...a: unknown[]) => unknown).apply(driver, args);
      } catch (error) {
        throw isMissingTable(error) ? new NotMigratedError({ cause: error }) : error;
      }
    };
  }
  return wrapped as unknown as Driver;
}
