import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isJobId, newJobId } from "../../src/ids.ts";

describe("newJobId", () => {
  test("is a UUIDv7 with the RFC variant", () => {
    const id = newJobId();
    assert.ok(isJobId(id), id);
    assert.equal(id.length, 36);
    assert.equal(id[14], "7", "version nibble");
    assert.ok("89ab".includes(id[19]), "variant bits 10xx");
  });

  test("encodes the millisecond in its first 48 bits", () => {
    const now = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const id = newJobId(now);
    assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), now);
  });

  test("ids made in the same millisecond sort in the order they were made", () => {
    const now = Date.now() + 10_000;
    const ids = Array.from({ length: 5000 }, () => newJobId(now)); // past the 4096 per-ms counter
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  test("stay ordered across milliseconds and when the clock steps back", () => {
    const base = Date.now() + 20_000;
    const ids = [newJobId(base), newJobId(base + 1), newJobId(base + 1), newJobId(base - 500), newJobId(base + 2)];
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  test("isJobId accepts UUIDs only", () => {
    assert.ok(isJobId(crypto.randomUUID()));
    assert.ok(isJobId(crypto.randomUUID().toUpperCase()));
    for (const bad of ["", "x", "123", `${crypto.randomUUID()}0`, ` ${crypto.randomUUID()}`, 5, null, undefined]) {
      assert.equal(isJobId(bad), false, String(bad));
    }
  });
});
