/**
 * PostgreSQL array literals, built here rather than by postgres.js so that the
 * hot statements (`unnest($1::uuid[], …)`) send one text parameter per column
 * whatever the batch size — one prepared statement for every batch — and work
 * the same inside a caller's transaction whose client may not have fetched the
 * array types (`fetch_types: false`).
 *
 * An array literal quotes elements as JSON does, escaping only `"` and `\` with
 * a backslash, and reads NULL case-insensitively. So JSON.stringify of the
 * whole array (native, 3-6 times faster than quoting element by element) is the
 * literal with its brackets swapped for braces — unless it escaped anything
 * else (control characters, lone surrogates), which the element-wise path
 * handles. Payloads are JSON text, which never holds either.
 */
const OTHER_ESCAPE = /\\[^"\\]/;

export function pgArray(values: ReadonlyArray<string | number | null>): string {
  const json = JSON.stringify(values);
  if (!OTHER_ESCAPE.test(json)) return `{${json.slice(1, -1)}}`;
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    const v = values[i];
    if (v === null) out += "NULL";
    else if (typeof v === "number") out += String(v);
    else out += `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  }
  return out + "}";
}
