/** Array literals built by the driver read back as the same values on a real server. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pgArray } from "../../drivers/postgres/arrays.ts";
import { rawClient, skip } from "./env.ts";

const TEXTS = [
  "plain",
  'quote " inside',
  "back\\slash",
  '\\"',
  "\\\\n is not a newline",
  "{braces},[brackets]",
  "NULL",
  "null",
  "",
  " spaced ",
  "new\nline\ttab\rreturn",
  "\u0001\u001f control",
  "ünïcødé \u{1F600} \u2028",
  "lone \ud800 surrogate",
  JSON.stringify({ s: 'a"b\\c\n', n: [1, null] }),
];

describe("postgres array literals", { skip }, () => {
  test("text elements with quotes, backslashes, control characters and NULLs round-trip", async () => {
    const sql = rawClient();
    try {
      // Without control characters or lone surrogates the literal is JSON's own text (the fast path).
      // deno-lint-ignore no-control-regex -- control characters are what this filter looks for
      const jsonSafe = TEXTS.filter((t) => !/[\u0000-\u001f]/.test(t) && t.isWellFormed());
      assert.equal(pgArray(jsonSafe), `{${JSON.stringify(jsonSafe).slice(1, -1)}}`);
      for (const values of [TEXTS, jsonSafe, ["a", null, "NULL", null], [], ["just one"]]) {
        // Read back as JSON: postgres.js's own array parser turns NULL elements into "NULL" and NaN.
        const [row] = await sql.unsafe(`SELECT array_to_json($1::text[])::text AS a`, [pgArray(values)]);
        // A lone surrogate cannot be stored as UTF-8: the server keeps U+FFFD in its place.
        const expected = values.map((v) => (v === null ? null : v.toWellFormed()));
        assert.deepEqual(JSON.parse(row.a), expected);
      }
    } finally {
      await sql.end();
    }
  });

  test("numbers and NULLs in integer and bigint arrays", async () => {
    const sql = rawClient();
    try {
      const [row] = await sql.unsafe(`SELECT array_to_json($1::bigint[])::text AS b, array_to_json($2::integer[])::text AS i`, [
        pgArray([0, -1, 1795332354994, null]),
        pgArray([7, null, -100]),
      ]);
      assert.deepEqual(JSON.parse(row.b), [0, -1, 1795332354994, null]);
      assert.deepEqual(JSON.parse(row.i), [7, null, -100]);
    } finally {
      await sql.end();
    }
  });
});
