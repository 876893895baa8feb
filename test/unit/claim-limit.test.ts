import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { claimBackoffMs, claimLimit, type ClaimState } from "../../src/runtime/claim-limit.ts";

const idle: ClaimState = {
  concurrency: 10,
  prefetch: 0,
  running: 0,
  buffered: 0,
  reserved: 0,
  inFlight: 0,
  draining: false,
  overlapping: true,
};

describe("claimLimit", () => {
  test("without prefetch: the free slots, and nothing while a claim is in flight or at capacity", () => {
    assert.equal(claimLimit(idle), 10);
    assert.equal(claimLimit({ ...idle, running: 7 }), 3);
    assert.equal(claimLimit({ ...idle, running: 10 }), 0);
    assert.equal(claimLimit({ ...idle, running: 4, inFlight: 1, reserved: 6, draining: true }), 0);
  });

  test("prefetch on an overlapping driver: half the capacity per claim, a second only while draining", () => {
    const pf = { ...idle, prefetch: 90 };
    assert.equal(claimLimit(pf), 50);
    assert.equal(claimLimit({ ...pf, inFlight: 1, reserved: 50, draining: true }), 50);
    assert.equal(claimLimit({ ...pf, inFlight: 1, reserved: 50, draining: false }), 0);
    assert.equal(claimLimit({ ...pf, inFlight: 2, reserved: 100, draining: true }), 0);
    // Room for less than half: wait for it rather than claim a small batch beside the first.
    assert.equal(claimLimit({ ...pf, inFlight: 1, reserved: 50, running: 10, draining: true }), 0);
  });

  test("prefetch without overlapping claims: one claim for all the room", () => {
    assert.equal(claimLimit({ ...idle, prefetch: 90, overlapping: false }), 100);
    assert.equal(claimLimit({ ...idle, prefetch: 90, overlapping: false, inFlight: 1, reserved: 100, draining: true }), 0);
  });

  test("a buffer over half the prefetch waits for jobs to finish", () => {
    assert.equal(claimLimit({ ...idle, prefetch: 90, running: 10, buffered: 46 }), 0);
    assert.equal(claimLimit({ ...idle, prefetch: 90, running: 10, buffered: 45 }), 45);
  });
});

test("claimBackoffMs doubles from twice the polling interval and stops at 2 s", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => claimBackoffMs(50, n)), [100, 200, 400, 800, 1600]);
  assert.equal(claimBackoffMs(50, 6), 2000);
  assert.equal(claimBackoffMs(50, 1000), 2000);
});
