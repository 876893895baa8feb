/** stint.queueDepths and the driver's queueDepth (DESIGN §12): jobs waiting to run, by queue. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defineTask } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { uniqueName, withDatabase, withStint, withStintAt } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";

const HOUR = 3_600_000;
/** Semaphores are database-wide: a key of this run's own on a shared server. */
const limited = defineTask("limited", () => null, { concurrency: { key: uniqueName("depth"), limit: 1 } });
const plain = defineTask("t", () => null);

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("queueDepths", () => {
      test("counts ready, scheduled and blocked jobs; not running or finished ones", () =>
        withStint(target, { tasks: [limited, plain] }, async (stint) => {
          assert.deepEqual(await stint.queueDepths(), {}, "no queue has waiting jobs yet");
          await stint.enqueueAll([1, 2, 3].map((n) => ({ task: "limited", payload: n, options: { queue: "a" } })));
          await stint.enqueue("limited", null, { queue: "b", delay: "1h" });
          // Two of "a" are blocked behind the first's key; one more "a" job is claimed (running).
          const [info] = await stint.driver.queueList({ backend: stint.backend, queue: "a" });
          assert.deepEqual([info.ready, info.blocked], [1, 2]);
          await claim(stint, await registerProcess(stint), ["a"], 1);
          assert.deepEqual(await stint.queueDepths(), { a: 2, b: 1 }, "the running job no longer waits");
          const { id } = await stint.enqueue("t", null, { queue: "c" });
          assert.equal((await stint.cancel(id)).status, "cancelled");
          assert.deepEqual(await stint.queueDepths(), { a: 2, b: 1 }, "a finished job never counts");
        }));

      test("every queue asked for is present, 0 included, in the order asked", () =>
        withStint(target, {}, async (stint) => {
          await stint.enqueue("t", null, { queue: "full" });
          await stint.enqueue("t", null, { queue: "other" });
          const depths = await stint.queueDepths({ queues: ["empty", "full", "__proto__"] });
          assert.deepEqual(Object.keys(depths), ["empty", "full", "__proto__"]);
          assert.deepEqual(Object.values(depths), [0, 1, 0]);
          assert.equal(Object.getPrototypeOf(depths), Object.prototype, "a queue named __proto__ is only a key");
          assert.deepEqual(await stint.queueDepths({ queues: [] }), {});
        }));

      test("excludeFuture leaves out scheduled jobs due later, not those already due", () =>
        withStint(target, {}, async (stint) => {
          await stint.enqueue("t", null, { queue: "s", delay: "1h" });
          await stint.enqueue("t", null, { queue: "s", runAt: new Date(Date.now() + 2 * HOUR) });
          // Scheduled two hours ago for an hour ago, and not promoted (no dispatcher runs): due, still scheduled.
          await stint.driver.jobInsertMany({
            backend: stint.backend,
            jobs: [{
              id: crypto.randomUUID(),
              task: "t",
              queue: "s",
              priority: 0,
              payload: "null",
              scheduledAt: new Date(Date.now() - HOUR),
              concurrency: null,
            }],
            now: new Date(Date.now() - 2 * HOUR),
          });
          await stint.enqueue("t", null, { queue: "s" });
          const [info] = await stint.driver.queueList({ backend: stint.backend, queue: "s" });
          assert.deepEqual([info.ready, info.scheduled], [1, 3]);
          assert.deepEqual(await stint.queueDepths({ queues: ["s"] }), { s: 4 });
          assert.deepEqual(await stint.queueDepths({ queues: ["s"], excludeFuture: true }), { s: 2 });
          const due = await stint.driver.queueDepth({ backend: stint.backend, dueBy: new Date(Date.now() + 1.5 * HOUR) });
          assert.deepEqual([...due], [["s", 3]], "dueBy counts what is scheduled up to it");
        }));

      test("counts its own backend only", () =>
        withDatabase(target, async (url) => {
          await withStintAt(url, {}, async (a) => {
            await withStintAt(url, {}, async (b) => {
              await a.enqueueAll([{ task: "t" }, { task: "t" }]);
              await b.enqueue("t");
              assert.deepEqual(await a.queueDepths(), { default: 2 });
              assert.deepEqual(await b.queueDepths({ queues: ["default"] }), { default: 1 });
            });
          });
        }));

      test("many queues at once: more than one statement's worth", () =>
        withStint(target, {}, async (stint) => {
          const queues = Array.from({ length: 700 }, (_, i) => `q${String(i).padStart(3, "0")}`);
          await stint.enqueueAll(queues.filter((_, i) => i % 100 === 0).map((queue) => ({ task: "t", options: { queue } })));
          const depths = await stint.queueDepths({ queues });
          assert.equal(Object.keys(depths).length, 700);
          assert.deepEqual(Object.entries(depths).filter(([, n]) => n > 0).map(([q]) => q), [
            "q000", "q100", "q200", "q300", "q400", "q500", "q600",
          ]);
        }));

      test("bad options are a ConfigError naming the option", () =>
        withStint(target, {}, async (stint) => {
          const bad: Array<[unknown, RegExp]> = [
            [null, /queueDepths options must be an object/],
            [{ queue: "a" }, /unknown option "queue"/],
            [{ queues: "a" }, /queueDepths queues: "a" is not valid/],
            [{ queues: ["ok", ""] }, /queueDepths queues\[1\] must be a non-empty string/],
            [{ excludeFuture: "yes" }, /queueDepths excludeFuture: "yes" is not valid/],
          ];
          for (const [options, pattern] of bad) {
            await assert.rejects(() => stint.queueDepths(options as never), (error: unknown) => {
              assert.ok(error instanceof ConfigError, String(error));
              assert.match((error as Error).message, pattern);
              return true;
            });
          }
        }));
    });
  });
}
