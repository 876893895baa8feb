/** The worker rate limit's sliding window (src/runtime/start-window.ts), against a list kept the slow, obvious way. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { StartWindow } from "../../src/runtime/start-window.ts";

test("free places and waits match a plain list of starts, over many starts and compactions", () => {
  const limit = 1500;
  const perMs = 100;
  const window = new StartWindow(limit, perMs);
  let starts: number[] = [];
  let now = 0;
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 20_000; i++) {
    now += Math.floor(random() * 3);
    starts = starts.filter((t) => t >= now - perMs);
    assert.equal(window.free(now), limit - starts.length);
    if (starts.length < limit && random() < 0.9) {
      window.record(now);
      starts.push(now);
    } else if (starts.length === limit) {
      assert.equal(window.waitMs(now), starts[0] + perMs + 1 - now);
    }
  }
});

test("a large limit records a start in constant time (no copy of the whole window)", () => {
  const window = new StartWindow(1_000_000, 60_000);
  for (let i = 0; i < 1_000_000; i++) window.record(i / 1000);
  const started = performance.now();
  for (let i = 0; i < 20_000; i++) window.record(1000 + i / 1000);
  // Not a timed assertion of speed: the figure is printed; correctness is asserted.
  console.log(`20,000 starts on a full 1,000,000 window: ${(performance.now() - started).toFixed(1)} ms`);
  assert.equal(window.free(1020), 0);
});
