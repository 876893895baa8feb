/**
 * Payloads and return values must survive JSON.stringify → JSON.parse unchanged.
 * `jsonProblem` walks a value and names the first part that would not, so the
 * caller can refuse it before anything is written.
 */
export function jsonProblem(value: unknown, path: string): string | null {
  return walk(value, path, new Set());
}

function walk(value: unknown, path: string, seen: Set<object>): string | null {
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
  if (Array.isArray(object)) {
    seen.add(object);
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) return `${path}[${i}] is a hole in a sparse array`;
      const problem = walk(object[i], `${path}[${i}]`, seen);
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
    const problem = walk(child, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, seen);
    if (problem) return problem;
  }
  seen.delete(object);
  return null;
}
