/**
 * ProgressWriter (ctx.progress's throttle): one write at a time, in order, at
 * most one a second, the last value always written by flush, and values
 * superseded while a write was in flight never written. The clock is a
 * variable; writes are settled by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgressWriter } from "../../src/runtime/progress.ts";

function harness() {
  let now = 0;
  const writes: string[] = [];
  const pending: Array<() => void> = [];
  const writer = new ProgressWriter((value) => {
    writes.push(value);
    return new Promise<void>((resolve) => pending.push(resolve));
  }, () => now);
  return {
    writer,
    writes,
    settle: async () => {
      pending.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
    at: (ms: number) => void (now = ms),
  };
}

test("the first value is written at once; values given meanwhile wait; flush writes only the last", async () => {
  const h = harness();
  h.writer.set("a");
  assert.deepEqual(h.writes, ["a"]);
  h.writer.set("b");
  h.writer.set("c");
  assert.deepEqual(h.writes, ["a"], "no second write while one is in flight");
  await h.settle();
  assert.deepEqual(h.writes, ["a"], "a second later at the earliest");
  const flushed = h.writer.flush();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(h.writes, ["a", "c"], "flush writes the last value, not the superseded one");
  await h.settle();
  await flushed;
});

test("a value given a second after the last write is written at once", async () => {
  const h = harness();
  h.writer.set("a");
  await h.settle();
  h.at(1000);
  h.writer.set("b");
  assert.deepEqual(h.writes, ["a", "b"]);
  await h.settle();
  await h.writer.flush();
  assert.deepEqual(h.writes, ["a", "b"], "nothing pending: flush writes nothing");
});

test("flush waits for the write in flight before writing the last value (never an older one after it)", async () => {
  const h = harness();
  h.writer.set("a");
  h.writer.set("z");
  const flushed = h.writer.flush();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(h.writes, ["a"]);
  await h.settle();
  assert.deepEqual(h.writes, ["a", "z"]);
  await h.settle();
  await flushed;
});
