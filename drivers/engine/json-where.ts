/**
 * jobList's `where`: a top-level field of a JSON document equal, by JSON
 * equality, to a JSON value, in each database's own JSON functions. Field
 * names and values are user text: they travel only as parameters, never in
 * the statement. Where a dialect addresses the field by a JSON path, the name
 * is written into the path as a JSON string literal (quoted and escaped), so
 * a name holding dots, quotes or `*` is one key, not a path.
 *
 * What "equal" means is each database's: PostgreSQL (jsonb) and MySQL compare
 * numbers by value and objects regardless of key order; SQLite and MariaDB
 * before 10.7 compare nested objects and arrays as their compact text (the
 * core writes both sides with JSON.stringify, so key order is the writer's).
 */
import type { Condition, FieldEquals, SqlAccess } from "./access.ts";

/** `$."name"`: the field as one member of a JSON path. */
const memberPath = (field: string) => `$.${JSON.stringify(field)}`;

/**
 * SQLite: json_each over the document's top level, matched by key (bound as
 * a value, so no path syntax is involved: SQLite's paths cannot quote a key
 * holding `"`). The element's type and value must match the parameter's;
 * integers and reals are one kind (1 = 1.0), and JSON null matches null only.
 */
export const sqliteFieldEquals: FieldEquals = (doc, field, json) => ({
  sql: `EXISTS (SELECT 1 FROM json_each(${doc}) e, (SELECT json_type(?) AS t, json_extract(?, '$') AS v) w
    WHERE e.key = ? AND (e.type = w.t OR (e.type IN ('integer', 'real') AND w.t IN ('integer', 'real')))
      AND (e.type = 'null' OR e.value = w.v))`,
  params: [json, json, field],
});

/** Whether a JSON text holds a NUL character in a string or key (jsonb refuses those). */
function holdsNul(json: string): boolean {
  if (!json.includes("\\u0000")) return false;
  const walk = (v: unknown): boolean =>
    typeof v === "string"
      ? v.includes("\0")
      : v !== null && typeof v === "object" && Object.entries(v).some(([k, x]) => k.includes("\0") || walk(x));
  try {
    return walk(JSON.parse(json));
  } catch {
    return false; // not JSON: the database's cast reports it
  }
}

/**
 * PostgreSQL: jsonb's `->` with the key as a text parameter, and jsonb
 * equality (the value is cast from text: postgres.js would JSON-encode a
 * string sent as jsonb a second time). jsonb refuses a document holding \u0000, and one such job must not
 * break every query: documents that mention it are not converted (so they
 * never match), and a field or value holding it matches nothing.
 */
export const postgresFieldEquals: FieldEquals = (doc, field, json) => {
  if (field.includes("\0") || holdsNul(json)) return { sql: "1 = 0", params: [] };
  return {
    sql: `(CASE WHEN strpos(${doc}, '\\u0000') = 0 THEN ${doc}::jsonb END) -> ?::text = ?::text::jsonb`,
    params: [field, json],
  };
};

/** MySQL 8: JSON_EXTRACT by a quoted member path, against the value cast to JSON. */
export const mysqlFieldEquals: FieldEquals = (doc, field, json) => ({
  sql: `JSON_EXTRACT(${doc}, ?) = CAST(? AS JSON)`,
  params: [memberPath(field), json],
});

/**
 * MariaDB 10.7+ (JSON is text there: no CAST AS JSON, but JSON_EQUALS).
 * Compared with 1: a bare JSON_EQUALS(NULL, …) in WHERE (a missing field)
 * counted as true on MariaDB 10.11.
 */
export const mariadbFieldEquals: FieldEquals = (doc, field, json) => ({
  sql: `COALESCE(JSON_EQUALS(JSON_EXTRACT(${doc}, ?), ?), 0) = 1`,
  params: [memberPath(field), json],
});

/** MariaDB 10.6, which has no JSON_EQUALS: compact texts compared. */
export const mariadb106FieldEquals: FieldEquals = (doc, field, json) => ({
  sql: `JSON_COMPACT(JSON_EXTRACT(${doc}, ?)) = JSON_COMPACT(?)`,
  params: [memberPath(field), json],
});

export function fieldEquals(access: SqlAccess, doc: string, field: string, json: string): Condition {
  if (access.fieldEquals) return access.fieldEquals(doc, field, json);
  if (access.dialect === "postgres") return postgresFieldEquals(doc, field, json);
  if (access.dialect === "mysql") return mysqlFieldEquals(doc, field, json);
  return sqliteFieldEquals(doc, field, json);
}
