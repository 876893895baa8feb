/**
 * PostgreSQL array literals, built here rather than by postgres.js so that the
 * hot statements (`unnest($1::uuid[], …)`) send one text parameter per column
 * whatever the batch size — one prepared statement for every batch — and work
 * the same inside a caller's transaction whose client may not have fetched the
 * array types (`fetch_types: false`).
 */
export function pgArray(values: ReadonlyArray<string | number | null>): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    const v = values[i];
    if (v === null) out += "NULL";
    else if (typeof v === "number") out += String(v);
    else out += v.includes("\\") || v.includes('"') ? `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${v}"`;
  }
  return out + "}";
}
