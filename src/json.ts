import { ResultError } from "./errors.ts";

/**
 * Payloads and return values must survive JSON.stringify → JSON.parse unchanged.
 * `jsonProblem` walks a value and names the first part that would not, so the
 * caller can refuse it before anything is written.
 */
export function jsonProblem(value: unknown, path: string): string | null {
  // Most values are fine: check them without building paths, and walk again for the message only if not.
  return plain(value, 0) ? null : walk(value, path, new Set(), 0);
}

/**
 * Deeper values are refused: the walk below (and JSON.stringify and JSON.parse
 * in a worker) would run out of stack, with a RangeError instead of a reason.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * True when `value` surely round-trips. Depth stands in for cycle detection (a
 * cycle, or a very deep value, goes to the full walk).
 */
function plain(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      break;
    default:
      return false;
  }
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !plain(value[i], depth + 1)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0) return false;
  for (const key in value) {
    if (Object.hasOwn(value, key) && !plain((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

function walk(value: unknown, path: string, seen: Set<object>, depth: number): string | null {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : `${path} is ${value}, which JSON cannot represent`;
    case "undefined":
      return `${path} is undefined, which JSON drops`;
    case "bigint":
      return `${path} is a BigInt, which JSON cannot represent`;
    case "function":
      return `${path} is a function, which JSON drops`;
    case "symbol":
      return `${path} is a symbol, which JSON drops`;
  }
  const object = value as object;
  if (seen.has(object)) return `${path} is a circular reference`;
  if (depth >= MAX_JSON_DEPTH) {
    // The path would be a thousand segments long: name where the nesting starts instead.
    return `${path.length > 80 ? `${path.slice(0, 80)}…` : path} is nested more than ${MAX_JSON_DEPTH} levels deep`;
  }
  if (Array.isArray(object)) {
    seen.add(object);
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) return `${path}[${i}] is a hole in a sparse array`;
      const problem = walk(object[i], `${path}[${i}]`, seen, depth + 1);
      if (problem) return problem;
    }
    seen.delete(object);
    return null;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const kind = (object as { constructor?: { name?: string } }).constructor?.name ?? "object";
    return `${path} is a ${kind}, which does not round-trip through JSON (convert it to a plain value)`;
  }
  if (Object.getOwnPropertySymbols(object).length > 0) return `${path} has symbol keys, which JSON drops`;
  seen.add(object);
  for (const [key, child] of Object.entries(object)) {
    const problem = walk(child, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, seen, depth + 1);
    if (problem) return problem;
  }
  seen.delete(object);
  return null;
}

/**
 * A NUL byte or half of a surrogate pair cannot be stored faithfully as text:
 * libSQL cuts a string at NUL (pausing "q\0evil" paused "q"), PostgreSQL refuses
 * it outright, and a lone surrogate is not valid UTF-8 anywhere. (Inside a JSON
 * payload both are escaped, so only names and keys need this.)
 */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasUnstorable(value: string): boolean {
  return UNSTORABLE.test(value);
}

/**
 * A handler's value as the JSON text to store (undefined is null), or a
 * ResultError naming what would not round-trip. Worker mode calls it in the
 * isolate (isolate.ts), so a bad result fails the same way in both modes.
 */
export function resultJson(task: string, value: unknown): string {
  const result = value === undefined ? null : value;
  const problem = jsonProblem(result, "return value");
  if (problem) throw new ResultError(`${task}: ${problem}`);
  return JSON.stringify(result);
}
