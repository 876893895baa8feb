/**
 * A worker's own rate limit (`workers[].rateLimit`, DESIGN §12), against every
 * target: no window of `per` holds more than `limit` starts of that worker
 * (start times recorded by the handler), even with slots and prefetch to
 * spare; a full window is slept out, not polled (claims counted through the
 * real driver, as idle.test.ts does); bad options are ConfigErrors.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, createStint, defineTask, type Stint } from "../../mod.ts";
import { StartWindow } from "../../src/runtime/start-window.ts";
import { sleep, withStint } from "../support/harness.ts";
import { targets } from "../support/targets.ts";
import { waitFor } from "../support/wait.ts";

const starts: number[] = [];
const stamp = defineTask("stamp", () => {
  starts.push(Date.now());
  return null;
});

/** Counts the claims the runtime sends through the (real) driver from now on. */
function countClaims(stint: Stint): { readonly count: number; reset(): void } {
  const driver = stint.driver;
  const claim = driver.jobClaim.bind(driver);
  let count = 0;
  driver.jobClaim = (params) => {
    count++;
    return claim(params);
  };
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}

/** The most starts any window [t, t + per) holds, t a start. */
function busiestWindow(times: number[], per: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[j] < sorted[i] - per + 1) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("a worker's rateLimit", () => {
      for (const prefetch of [0, 10]) {
        test(`prefetch ${prefetch}: no window of per holds more than limit starts`, () =>
          withStint(target, {
            tasks: [stamp],
            workers: [{ concurrency: 8, prefetch, pollingInterval: "20ms", rateLimit: { limit: 3, per: "250ms" } }],
            dispatchers: [{ pollingInterval: "20ms" }],
            shutdownTimeout: "1s",
          }, async (stint) => {
            starts.length = 0;
            await stint.enqueueAll(Array.from({ length: 13 }, () => ({ task: stamp, payload: null })));
            await stint.start({ mode: "async" });
            await waitFor("every job started", () => starts.length === 13, { timeout: 30_000 });
            assert.equal(busiestWindow(starts, 250), 3, `starts at ${starts.map((t) => t - starts[0]).join(", ")} ms`);
          }));
      }

      test("a full window is slept out: about one claim per window, not a poll loop", () =>
        withStint(target, {
          tasks: [stamp],
          workers: [{ concurrency: 4, pollingInterval: "20ms", rateLimit: { limit: 1, per: "500ms" } }],
          dispatchers: [{ pollingInterval: "100ms" }],
          shutdownTimeout: "1s",
        }, async (stint) => {
          starts.length = 0;
          await stint.enqueueAll(Array.from({ length: 50 }, () => ({ task: stamp, payload: null })));
          const claims = countClaims(stint);
          await stint.start({ mode: "async" });
          await waitFor("the first start", () => starts.length > 0, { timeout: 10_000 });
          claims.reset();
          const from = Date.now();
          // The quantity under test is a count over a stretch of time: the stretch itself is the input.
          await sleep(2000);
          const seen = claims.count;
          const elapsed = Date.now() - from;
          // One claim each time the window opens, and a few for wake-ups; a 20 ms poll would make about 100.
          const most = Math.ceil(elapsed / 500) + 6;
          assert.ok(seen <= most, `${seen} claims in ${elapsed} ms with the window full (at most ${most})`);
          assert.ok(busiestWindow(starts, 500) <= 1);
        }));

      test("an idle rate-limited worker polls no faster than its polling interval", () =>
        withStint(target, {
          tasks: [stamp],
          workers: [{ concurrency: 4, pollingInterval: "100ms", rateLimit: { limit: 2, per: "1s" } }],
          dispatchers: [{ pollingInterval: "100ms" }],
          shutdownTimeout: "1s",
        }, async (stint) => {
          const claims = countClaims(stint);
          await stint.start({ mode: "async" });
          await waitFor("the worker's first claim", () => claims.count > 0, { timeout: 10_000 });
          claims.reset();
          const from = Date.now();
          await sleep(1500);
          const seen = claims.count;
          const elapsed = Date.now() - from;
          const most = Math.ceil(elapsed / 100) + 6;
          assert.ok(seen <= most, `${seen} claims in ${elapsed} ms of an empty queue (at most ${most})`);
        }));
    });
  });
}

describe("workers[].rateLimit: bad options", () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ["limit 0", { limit: 0, per: "1s" }, /workers\[0\]\.rateLimit\.limit: 0 is not valid/],
    ["limit 1.5", { limit: 1.5, per: "1s" }, /workers\[0\]\.rateLimit\.limit: 1\.5/],
    ["limit as a string", { limit: "5", per: "1s" }, /workers\[0\]\.rateLimit\.limit/],
    ["no limit", { per: "1s" }, /workers\[0\]\.rateLimit\.limit is missing/],
    ["no per", { limit: 5 }, /workers\[0\]\.rateLimit\.per is missing/],
    ["per 0", { limit: 5, per: 0 }, /workers\[0\]\.rateLimit\.per: 0 is not valid/],
    ["per soon", { limit: 5, per: "soon" }, /workers\[0\]\.rateLimit\.per: "soon"/],
    ["per 30d (beyond a timer)", { limit: 5, per: "30d" }, /workers\[0\]\.rateLimit\.per/],
    ["an unknown key", { limit: 5, per: "1s", key: "api" }, /workers\[0\]\.rateLimit: unknown option "key"/],
    ["not an object", 5, /workers\[0\]\.rateLimit: 5 is not valid/],
  ];
  for (const [what, rateLimit, says] of bad) {
    test(`${what} is a ConfigError, before anything is opened`, async () => {
      await assert.rejects(
        createStint({ url: "file:/nonexistent-dir/never.db", workers: [{ rateLimit } as never] }),
        (error: unknown) => error instanceof ConfigError && says.test(error.message),
      );
    });
  }

  test("StartWindow: a start holds its place through t + per", () => {
    const window = new StartWindow(2, 100);
    assert.equal(window.free(0), 2);
    window.record(0);
    window.record(10);
    assert.equal(window.free(50), 0);
    assert.equal(window.waitMs(50), 51);
    assert.equal(window.free(100), 0, "the start at 0 still holds its place at 100");
    assert.equal(window.free(101), 1);
    assert.equal(window.waitMs(101), 0);
    assert.equal(window.free(111), 2);
  });
});
