import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, EnqueueError, parseDuration } from "../../mod.ts";

describe("parseDuration", () => {
  test("numbers are milliseconds", () => {
    assert.equal(parseDuration(0, "x"), 0);
    assert.equal(parseDuration(250, "x"), 250);
    assert.equal(parseDuration(1.5, "x"), 1.5);
  });

  test("strings take a unit: ms, s, m, h, d", () => {
    assert.equal(parseDuration("500ms", "x"), 500);
    assert.equal(parseDuration("30s", "x"), 30_000);
    assert.equal(parseDuration("5m", "x"), 300_000);
    assert.equal(parseDuration("2h", "x"), 7_200_000);
    assert.equal(parseDuration("7d", "x"), 604_800_000);
    assert.equal(parseDuration("1.5s", "x"), 1500);
    assert.equal(parseDuration("0s", "x"), 0);
    assert.equal(parseDuration(" 10 ms ", "x"), 10);
  });

  test("refuses what is not a duration, naming the option", () => {
    const bad: unknown[] = [
      "5 parsecs",
      "-1s",
      "",
      "10",
      "s",
      "1e3ms",
      "1,5s",
      "5M",
      "5 m s",
      -1,
      Number.NaN,
      Infinity,
      -Infinity,
      null,
      undefined,
      {},
      [],
      true,
      10n,
    ];
    for (const value of bad) {
      assert.throws(() => parseDuration(value, "shutdownTimeout"), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${String(value)} should be refused`);
        assert.match(error.message, /^shutdownTimeout: /);
        return true;
      });
    }
  });

  test("throws the error type it is given", () => {
    assert.throws(() => parseDuration("soon", "delay", EnqueueError), EnqueueError);
  });
});
