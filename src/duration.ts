import { ConfigError } from "./errors.ts";

/** Milliseconds, or a string with a unit: "500ms", "30s", "5m", "2h", "7d". */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/**
 * Parses a Duration into milliseconds. `what` names the option in the error.
 * Negative, non-finite and unit-less strings are refused.
 */
export function parseDuration(value: unknown, what: string, ErrorType: new (m: string) => Error = ConfigError): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new ErrorType(`${what}: ${value} is not a valid duration (a non-negative number of milliseconds)`);
    }
    return value;
  }
  if (typeof value === "string") {
    const match = PATTERN.exec(value);
    if (match) return Math.round(Number(match[1]) * UNITS[match[2]]);
    throw new ErrorType(
      `${what}: ${JSON.stringify(value)} is not a valid duration (use milliseconds or a number with ms, s, m, h or d, e.g. "30s")`,
    );
  }
  throw new ErrorType(`${what}: ${describe(value)} is not a valid duration (use milliseconds or a string like "30s")`);
}

export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
