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
import { describe, parseDuration } from "./duration.ts";
import { EnqueueError } from "./errors.ts";
import { hasUnstorable } from "./json.ts";
import type { ConcurrencyOptions } from "./task.ts";

export const MAX_KEY_LENGTH = 255;
export const DEFAULT_CONCURRENCY_DURATION_MS = 180_000;
const OPTION_KEYS = ["key", "limit", "duration", "onConflict"];
const FIELD = /\{([^{}]+)\}/g;

type ErrorType = new (message: string) => Error;

/** Checks the option's shape; `what` names it in the error ("task sync: concurrency"). */
export function checkConcurrency<P>(value: unknown, what: string, ErrorType: ErrorType): ConcurrencyOptions<P> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ErrorType(`${what}: ${describe(value)} is not valid (expected { key, limit, duration?, onConflict? })`);
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OPTION_KEYS.includes(k)) throw new ErrorType(`${what}: unknown option ${JSON.stringify(k)} (known: ${OPTION_KEYS.join(", ")})`);
  }
  if (typeof o.key === "string") {
    if (o.key.length === 0 || o.key.length > MAX_KEY_LENGTH) {
      throw new ErrorType(`${what}.key: must be a non-empty template of at most ${MAX_KEY_LENGTH} characters`);
    }
  } else if (typeof o.key !== "function") {
    throw new ErrorType(`${what}.key: ${describe(o.key)} is not valid (expected a template like "account:{accountId}" or a function of the payload)`);
  }
  if (o.limit === undefined) throw new ErrorType(`${what}.limit is missing (how many jobs with one key may run at once)`);
  if (typeof o.limit !== "number" || !Number.isInteger(o.limit) || o.limit < 1 || o.limit > 1_000_000) {
    throw new ErrorType(`${what}.limit: ${describe(o.limit)} is not valid (expected an integer of at least 1)`);
  }
  if (o.duration !== undefined && parseDuration(o.duration, `${what}.duration`, ErrorType) <= 0) {
    throw new ErrorType(`${what}.duration: must be greater than zero`);
  }
  if (o.onConflict !== undefined && o.onConflict !== "block" && o.onConflict !== "discard") {
    throw new ErrorType(`${what}.onConflict: ${describe(o.onConflict)} is not valid (expected "block" or "discard")`);
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
  checkConcurrency(options, what, EnqueueError);
  return {
    key: keyFrom(options, payload, what),
    limit: options.limit!,
    durationMs: options.duration === undefined ? defaultDurationMs : parseDuration(options.duration, `${what}.duration`, EnqueueError),
    onConflict: options.onConflict ?? "block",
  };
}
