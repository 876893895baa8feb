import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defineTask } from "../../mod.ts";
import { backoffDelay, type BackoffPolicy, parseRetry } from "../../src/retry.ts";

const ALMOST_ONE = 1 - Number.EPSILON;

describe("backoffDelay", () => {
  test("a fixed backoff is always its delay", () => {
    const policy: BackoffPolicy = { kind: "fixed", delayMs: 250 };
    for (const attempt of [1, 2, 10, 1000]) assert.equal(backoffDelay(policy, attempt, Math.random), 250);
  });

  test("exponential delays double per attempt, with jitter between half and all of the ceiling", () => {
    const policy: BackoffPolicy = { kind: "exponential", baseMs: 1000, maxMs: 3_600_000 };
    for (const [attempt, ceiling] of [[1, 1000], [2, 2000], [3, 4000], [6, 32_000]]) {
      assert.equal(backoffDelay(policy, attempt, () => 0), ceiling / 2);
      assert.equal(backoffDelay(policy, attempt, () => ALMOST_ONE), ceiling);
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(policy, attempt);
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay}`);
      }
    }
  });

  test("exponential delays never exceed the maximum, however many attempts", () => {
    const policy: BackoffPolicy = { kind: "exponential", baseMs: 1000, maxMs: 60_000 };
    for (const attempt of [7, 20, 100, 10_000]) {
      const delay = backoffDelay(policy, attempt, () => ALMOST_ONE);
      assert.equal(delay, 60_000, `attempt ${attempt}`);
      assert.ok(Number.isFinite(delay));
      assert.equal(backoffDelay(policy, attempt, () => 0), 30_000);
    }
  });
});

describe("parseRetry", () => {
  test("defaults to 3 attempts with exponential backoff from 1 s to 1 h", () => {
    assert.deepEqual(parseRetry({}, "retry"), {
      attempts: 3,
      backoff: { kind: "exponential", baseMs: 1000, maxMs: 3_600_000 },
    });
  });

  test("takes a Duration as a fixed backoff and { exponential, max }", () => {
    assert.deepEqual(parseRetry({ attempts: 5, backoff: "10ms" }, "r").backoff, { kind: "fixed", delayMs: 10 });
    assert.deepEqual(parseRetry({ backoff: 0 }, "r").backoff, { kind: "fixed", delayMs: 0 });
    assert.deepEqual(parseRetry({ backoff: { exponential: "2s", max: "1m" } }, "r").backoff, {
      kind: "exponential",
      baseMs: 2000,
      maxMs: 60_000,
    });
  });

  test("refuses bad retry options with a ConfigError", () => {
    const bad: unknown[] = [
      null,
      5,
      { attempts: 0 },
      { attempts: 1.5 },
      { attempts: 1001 },
      { tries: 3 },
      { backoff: "linear" },
      { backoff: "-1s" },
      { backoff: { exponential: 0 } },
      { backoff: { exponential: "1s", max: "forever" } },
    ];
    for (const value of bad) {
      assert.throws(() => parseRetry(value, "task t: retry"), ConfigError, JSON.stringify(value));
    }
    assert.throws(() => defineTask("t", () => 1, { retry: { attempts: -1 } }), /task t: retry\.attempts/);
  });
});
