/** The worker loop's wake-up latch: no wake-up is lost, whenever it arrives. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Waker } from "../../src/runtime/sleep.ts";

/** Whether `p` settles before `ms` (a generous bound: the alternative is a 10 s wait). */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p.then(() => true), late]).finally(() => clearTimeout(timer));
}

describe("Waker", () => {
  test("a wake before the wait makes the wait return at once, once", async () => {
    const stop = new AbortController();
    const waker = new Waker(stop.signal);
    waker.wake();
    assert.equal(await settlesWithin(waker.wait(10_000), 1000), true);
    const second = waker.wait(10_000);
    assert.equal(await settlesWithin(second, 50), false, "one wake, one early return");
    stop.abort();
    await second;
  });

  // Regression: a second wake after the first had resolved the wait, but before
  // the wait returned, called the spent resolver and was lost; the worker then
  // slept its polling interval with a job waiting.
  test("a wake that arrives while a woken wait is still returning is kept for the next wait", async () => {
    const stop = new AbortController();
    const waker = new Waker(stop.signal);
    const first = waker.wait(10_000);
    queueMicrotask(() => {
      waker.wake();
      waker.wake();
    });
    assert.equal(await settlesWithin(first, 1000), true);
    assert.equal(await settlesWithin(waker.wait(10_000), 1000), true);
    stop.abort();
  });

  test("a wait ends after its time without a wake, and at once when the stop signal aborts", async () => {
    const stop = new AbortController();
    const waker = new Waker(stop.signal);
    assert.equal(await settlesWithin(waker.wait(5), 1000), true);
    const long = waker.wait(10_000);
    stop.abort();
    assert.equal(await settlesWithin(long, 1000), true);
    assert.equal(await settlesWithin(waker.wait(10_000), 1000), true, "a stopped waker never waits");
  });
});
