import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { jsonProblem, MAX_JSON_DEPTH } from "../../src/json.ts";

describe("jsonProblem", () => {
  test("accepts plain JSON values", () => {
    const shared = { s: 1 };
    for (
      const value of [null, 0, -1.5, "", "text", true, false, [], {}, [1, "a", null], { a: { b: [{ c: null }] } }, {
        x: shared,
        y: shared,
      }, Object.create(null)]
    ) {
      assert.equal(jsonProblem(value, "payload"), null, JSON.stringify(value));
    }
  });

  test("names the path of the first problem", () => {
    const circular: unknown[] = [];
    circular.push({ back: circular });
    class Money {
      cents = 1;
    }
    // deno-lint-ignore no-sparse-arrays
    const sparse = [0, , 2];
    const cases: Array<[unknown, string]> = [
      [undefined, "payload is undefined"],
      [Number.NaN, "payload is NaN"],
      [-Infinity, "payload is -Infinity"],
      [5n, "payload is a BigInt"],
      [() => 1, "payload is a function"],
      [Symbol("s"), "payload is a symbol"],
      [new Date(0), "payload is a Date"],
      [new Map(), "payload is a Map"],
      [new Set([1]), "payload is a Set"],
      [/re/, "payload is a RegExp"],
      [new Uint8Array(2), "payload is a Uint8Array"],
      [new Money(), "payload is a Money"],
      [{ a: [1, { b: undefined }] }, "payload.a[1].b is undefined"],
      [{ "with space": 1n }, 'payload["with space"] is a BigInt'],
      [{ $ok_1: { _x: Number.NaN } }, "payload.$ok_1._x is NaN"],
      [sparse, "payload[1] is a hole in a sparse array"],
      [circular, "payload[0].back is a circular reference"],
      [{ [Symbol("k")]: 1 }, "payload has symbol keys"],
    ];
    for (const [value, expected] of cases) {
      const problem = jsonProblem(value, "payload");
      assert.ok(problem !== null, `expected a problem for ${expected}`);
      assert.ok(problem.startsWith(expected), `"${problem}" should start with "${expected}"`);
    }
  });

  test("a deep plain value is fine and a problem deep down is still named", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 200; i++) deep = i % 2 ? [deep] : { k: deep };
    assert.equal(jsonProblem(deep, "payload"), null);
    let bad: unknown = Number.NaN;
    for (let i = 0; i < 100; i++) bad = { k: bad };
    assert.equal(jsonProblem(bad, "p"), `p${".k".repeat(100)} is NaN, which JSON cannot represent`);
  });

  test("uses the path it is given", () => {
    assert.match(jsonProblem({ v: new Map() }, "return value")!, /^return value\.v is a Map/);
  });

  test("a value nested deeper than it can walk is named, not a RangeError", () => {
    for (const depth of [MAX_JSON_DEPTH + 1, 100_000]) {
      let deep: unknown = "leaf";
      for (let i = 0; i < depth; i++) deep = i % 2 ? { a: deep } : [deep];
      assert.match(jsonProblem(deep, "return value") ?? "", /^return value.* is nested more than 1000 levels deep$/);
    }
    let fine: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) fine = [fine];
    assert.equal(jsonProblem(fine, "payload"), null);
  });
});
