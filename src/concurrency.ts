/**
 * A task's `concurrency` option, checked at defineTask and turned into the
 * policy stored on each job at enqueue (key, limit, duration, onConflict), so
 * maintenance and retries never need the task's code.
 *
 * The key is a function of the payload, or a template over payload fields:
 * "account:{accountId}" or "{customer.id}/{region}". A field that is missing, or
 * not a string, number or boolean, is an EnqueueError: a job must never fall
 * into a shared "undefined" key by accident.
 */
import type { ConcurrencyPolicy } from "./records.ts";
import type { Duration } from "./duration.ts";
import { EnqueueError } from "./errors.ts";
import { hasUnstorable } from "./json.ts";
import { type Checks, describe, enqueueCheck } from "./validate.ts";

/** A task's `concurrency` option. */
export interface ConcurrencyOptions<P> {
  /** A template over payload fields ("account:{accountId}") or a function of the payload. */
  key: string | ((payload: P) => string);
  /** How many jobs with one key may be ready or running at once. */
  limit: number;
  duration?: Duration;
  onConflict?: "block" | "discard";
}

export const MAX_KEY_LENGTH = 255;
export const DEFAULT_CONCURRENCY_DURATION_MS = 180_000;
const OPTION_KEYS = ["key", "limit", "duration", "onConflict"];
const FIELD = /\{([^{}]+)\}/g;

/**
 * Checks the option's shape; `what` names it in the error ("task sync: concurrency").
 * At defineTask a bad one is a ConfigError, at enqueue an EnqueueError: `check` says which.
 */
export function checkConcurrency<P>(value: unknown, what: string, check: Checks): ConcurrencyOptions<P> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    check.fail(`${what}: ${describe(value)} is not valid (expected { key, limit, duration?, onConflict? })`);
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OPTION_KEYS.includes(k)) check.fail(`${what}: unknown option ${JSON.stringify(k)} (known: ${OPTION_KEYS.join(", ")})`);
  }
  if (typeof o.key === "string") {
    if (o.key.length === 0 || o.key.length > MAX_KEY_LENGTH) {
      check.fail(`${what}.key: must be a non-empty template of at most ${MAX_KEY_LENGTH} characters`);
    }
  } else if (typeof o.key !== "function") {
    check.fail(`${what}.key: ${describe(o.key)} is not valid (expected a template like "account:{accountId}" or a function of the payload)`);
  }
  if (o.limit === undefined) check.fail(`${what}.limit is missing (how many jobs with one key may run at once)`);
  if (typeof o.limit !== "number" || !Number.isInteger(o.limit) || o.limit < 1 || o.limit > 1_000_000) {
    check.fail(`${what}.limit: ${describe(o.limit)} is not valid (expected an integer of at least 1)`);
  }
  if (o.duration !== undefined && check.duration(o.duration, `${what}.duration`) <= 0) {
    check.fail(`${what}.duration: must be greater than zero`);
  }
  if (o.onConflict !== undefined && o.onConflict !== "block" && o.onConflict !== "discard") {
    check.fail(`${what}.onConflict: ${describe(o.onConflict)} is not valid (expected "block" or "discard")`);
  }
  return o as unknown as ConcurrencyOptions<P>;
}

function field(payload: unknown, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function keyFrom(options: ConcurrencyOptions<unknown>, payload: unknown, what: string): string {
  let key: unknown;
  if (typeof options.key === "function") {
    try {
      key = options.key(payload);
    } catch (error) {
      throw new EnqueueError(`${what}.key: the key function threw: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
    }
  } else {
    key = options.key.replace(FIELD, (_, path: string) => {
      const value = field(payload, path.trim());
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
        throw new EnqueueError(
          `${what}.key: the payload has no usable field ${JSON.stringify(path.trim())} for the template ${
            JSON.stringify(options.key)
          } (got ${describe(value)}; expected a string, number or boolean)`,
        );
      }
      return String(value);
    });
  }
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new EnqueueError(
      `${what}.key: resolved to ${describe(key)} (expected a non-empty string of at most ${MAX_KEY_LENGTH} characters)`,
    );
  }
  if (hasUnstorable(key)) {
    throw new EnqueueError(`${what}.key: resolved to ${describe(key)}, which has a NUL character or a lone surrogate (not storable)`);
  }
  return key;
}

/** The policy stored on a job, or null for a task without `concurrency`. */
export function concurrencyPolicy(
  options: ConcurrencyOptions<unknown> | null | undefined,
  payload: unknown,
  defaultDurationMs: number,
  what: string,
): ConcurrencyPolicy | null {
  if (options === null || options === undefined) return null;
  // Checked again here: a task object may have been built or spread without defineTask.
  checkConcurrency(options, what, enqueueCheck);
  return {
    key: keyFrom(options, payload, what),
    limit: options.limit!,
    durationMs: options.duration === undefined ? defaultDurationMs : enqueueCheck.duration(options.duration, `${what}.duration`),
    onConflict: options.onConflict ?? "block",
  };
}
