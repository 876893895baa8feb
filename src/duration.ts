import { ConfigError } from "./errors.ts";

/** Milliseconds, or a string with a unit: "500ms", "30s", "5m", "2h", "7d". */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;
/**
 * About 136,900 years: half the Date range, so that now plus any duration (a
 * delay, a backoff, a window) is still a valid Date.
 */
export const MAX_DURATION_MS = 4.32e15;

/**
 * Parses a Duration into milliseconds. `what` names the option in the error.
 * Negative, non-finite and unit-less strings are refused, and so is anything
 * longer than the Date range (a time plus it would be an Invalid Date).
 */
export function parseDuration(value: unknown, what: string, ErrorType: new (m: string) => Error = ConfigError): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new ErrorType(`${what}: ${value} is not a valid duration (a non-negative number of milliseconds)`);
    }
    return inRange(value, what, ErrorType);
  }
  if (typeof value === "string") {
    const match = PATTERN.exec(value);
    if (match) return inRange(Math.round(Number(match[1]) * UNITS[match[2]]), what, ErrorType);
    throw new ErrorType(
      `${what}: ${JSON.stringify(value)} is not a valid duration (use milliseconds or a number with ms, s, m, h or d, e.g. "30s")`,
    );
  }
  throw new ErrorType(`${what}: ${describe(value)} is not a valid duration (use milliseconds or a string like "30s")`);
}

function inRange(ms: number, what: string, ErrorType: new (m: string) => Error): number {
  if (ms > MAX_DURATION_MS) throw new ErrorType(`${what}: ${ms} ms is longer than any date can be away (at most ${MAX_DURATION_MS} ms)`);
  return ms;
}

export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  // JSON.stringify would say "null" for NaN and the infinities.
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "symbol") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
