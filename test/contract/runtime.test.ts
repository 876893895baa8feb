/** The async runtime running jobs: outcomes, retries, timeouts, scheduling, wake-ups, concurrency. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, type TaskContext } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { fastRuntime, sleep, withStint, withStintAt } from "../support/harness.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

class BoomError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BoomError";
  }
}

const add = defineTask("add", ({ a, b }: { a: number; b: number }) => a + b);
const nothing = defineTask("nothing", () => undefined);
const boom = defineTask("boom", (p: { why: string }) => {
  throw new BoomError(p.why);
});
const throwsString = defineTask("throws_string", () => {
  throw "just a string";
});
const returnsMap = defineTask("returns_map", () => new Map([["a", 1]]));
const returnsBigInt = defineTask("returns_bigint", () => Promise.resolve(10n));
const tasks = [add, nothing, boom, throwsString, returnsMap, returnsBigInt];

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("async runtime: outcomes", () => {
      test("jobs run and succeed with their return value", () =>
        withStint(target, { tasks, ...fastRuntime() }, async (stint) => {
          const before = Date.now();
          const first = await stint.enqueue(add, { a: 1, b: 2 });
          await stint.start({ mode: "async" });
          const second = await stint.enqueue("add", { a: 20, b: 22 });
          const empty = await stint.enqueue(nothing);
          const r1 = await waitForStatus(stint, first.id, "succeeded");
          assert.equal(r1.returnValue, 3);
          assert.equal(r1.attempts, 1);
          assert.equal(r1.error, null);
          assert.deepEqual(r1.errors, []);
          assert.ok(r1.startedAt !== null && r1.finishedAt !== null);
          assert.ok(r1.startedAt.getTime() >= before - 1000);
          assert.ok(r1.finishedAt.getTime() >= r1.startedAt.getTime());
          assert.equal((await waitForStatus(stint, second.id, "succeeded")).returnValue, 42);
          const r3 = await waitForStatus(stint, empty.id, "succeeded");
          assert.equal(r3.returnValue, null, "undefined is stored as null");
        }));

      // Regression: a failed outcome write whose report threw (onRuntimeError and the
      // logger both throwing) left the completer marked busy for good, so no outcome
      // was written again and every later job stayed "running".
      test("outcomes are still written after a failed write whose error report threw", () => {
        let reports = 0;
        const thrower = () => {
          throw new Error("the reporter is broken");
        };
        return withStint(target, {
          tasks,
          ...fastRuntime(),
          allowRuntimeErrors: true,
          onRuntimeError: () => {
            reports++;
            thrower();
          },
          logger: { debug() {}, info() {}, warn() {}, error: thrower },
        }, async (stint, runtimeErrors) => {
          const finish = stint.driver.jobFinishMany.bind(stint.driver);
          let failOnce = true;
          stint.driver.jobFinishMany = (p) => {
            if (failOnce) {
              failOnce = false;
              return Promise.reject(new Error("the database went away for a moment"));
            }
            return finish(p);
          };
          const first = await stint.enqueue(add, { a: 1, b: 1 });
          await stint.start({ mode: "async" });
          assert.equal((await waitForStatus(stint, first.id, "succeeded", 5000)).returnValue, 2);
          const later = await stint.enqueue(add, { a: 2, b: 2 });
          assert.equal((await waitForStatus(stint, later.id, "succeeded", 5000)).returnValue, 4);
          assert.ok(reports >= 1, "the failed write was reported");
          assert.deepEqual(runtimeErrors.map((e) => e.context.operation), ["finish"]);
        });
      });

      test("a throwing task fails with the error's name, message and stack", () =>
        withStint(target, { tasks, ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const { id } = await stint.enqueue(boom, { why: "disk on fire" });
          const r = await waitForStatus(stint, id, "failed");
          assert.equal(r.error?.name, "BoomError");
          assert.equal(r.error?.message, "disk on fire");
          assert.equal(typeof r.error?.stack, "string");
          assert.match(r.error!.stack!, /disk on fire/);
          assert.equal(r.attempts, 1);
          assert.equal(r.errors.length, 1);
          assert.equal(r.returnValue, null);
          assert.ok(r.finishedAt instanceof Date);

          const s = await waitForStatus(stint, (await stint.enqueue(throwsString)).id, "failed");
          assert.equal(s.error?.name, "NonError");
          assert.equal(s.error?.message, "just a string");
        }));

      test("a return value that is not JSON fails the job with ResultError", () =>
        withStint(target, { tasks, ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const map = await stint.enqueue(returnsMap);
          const big = await stint.enqueue(returnsBigInt);
          const rm = await waitForStatus(stint, map.id, ["failed", "succeeded"]);
          assert.equal(rm.status, "failed");
          assert.equal(rm.error?.name, "ResultError");
          assert.match(rm.error!.message, /Map/);
          const rb = await waitForStatus(stint, big.id, ["failed", "succeeded"]);
          assert.equal(rb.status, "failed");
          assert.equal(rb.error?.name, "ResultError");
          assert.match(rb.error!.message, /BigInt/);
        }));

      test("a job whose task this worker does not know fails with UnknownTaskError", () =>
        withStint(target, { tasks, ...fastRuntime() }, async (stint) => {
          let id = "";
          // Another instance of the same backend, without tasks, can enqueue any name.
          await withStintAt(stint.config.url, { backend: stint.backend }, async (producer) => {
            id = (await producer.enqueue("not_here", {})).id;
          });
          await stint.start({ mode: "async" });
          const r = await waitForStatus(stint, id, "failed");
          assert.equal(r.error?.name, "UnknownTaskError");
          assert.match(r.error!.message, /not_here/);
        }));
    });

    describe("async runtime: retries and timeouts", () => {
      test("retry: attempts 3 runs three times and keeps every error", () => {
        const seen: number[] = [];
        const flaky = defineTask("always_fails", (_: null, ctx: TaskContext) => {
          seen.push(ctx.attempt);
          throw new Error(`attempt ${ctx.attempt} failed`);
        }, { retry: { attempts: 3, backoff: "10ms" } });
        return withStint(target, { tasks: [flaky], ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const { id } = await stint.enqueue(flaky, null);
          const r = await waitForStatus(stint, id, "failed");
          assert.deepEqual(seen, [1, 2, 3]);
          assert.equal(r.attempts, 3);
          assert.deepEqual(r.errors.map((e) => [e.attempt, e.message]), [
            [1, "attempt 1 failed"],
            [2, "attempt 2 failed"],
            [3, "attempt 3 failed"],
          ]);
          assert.equal(r.error?.message, "attempt 3 failed");
          await sleep(100);
          assert.equal((await stint.getResult(id)).status, "failed", "no fourth attempt");
          assert.deepEqual(seen, [1, 2, 3]);
        });
      });

      test("a task that succeeds on its second attempt ends succeeded", () => {
        const second = defineTask("second_time_lucky", (_: null, ctx: TaskContext) => {
          if (ctx.attempt === 1) throw new Error("not yet");
          return `ok on ${ctx.attempt}`;
        }, { retry: { attempts: 5, backoff: "10ms" } });
        return withStint(target, { tasks: [second], ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const { id } = await stint.enqueue(second, null);
          const r = await waitForStatus(stint, id, "succeeded");
          assert.equal(r.returnValue, "ok on 2");
          assert.equal(r.attempts, 2);
          assert.equal(r.error, null, "a succeeded job shows no error");
          assert.deepEqual(r.errors.map((e) => e.message), ["not yet"], "the failed attempt is still recorded");
        });
      });

      test("timeout aborts ctx.signal and fails with JobTimeoutError even if the handler never settles", () => {
        let abortReason: unknown = null;
        const hangs = defineTask("hangs", (_: null, ctx: TaskContext) => {
          ctx.signal.addEventListener("abort", () => (abortReason = ctx.signal.reason));
          return new Promise<never>(() => {});
        }, { timeout: "50ms" });
        return withStint(target, { tasks: [hangs], ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const { id } = await stint.enqueue(hangs, null);
          const r = await waitForStatus(stint, id, ["failed", "succeeded"]);
          assert.equal(r.status, "failed");
          assert.equal(r.error?.name, "JobTimeoutError");
          assert.match(r.error!.message, /50 ms/);
          assert.equal((abortReason as Error | null)?.name, "JobTimeoutError", "the handler's signal was aborted");
        });
      });
    });

    describe("async runtime: scheduling and waking", () => {
      test("a delayed job is promoted by the dispatcher and runs", () =>
        withStint(target, { tasks, ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const { id, status } = await stint.enqueue(add, { a: 2, b: 3 }, { delay: "150ms" });
          assert.equal(status, "scheduled");
          const r = await waitForStatus(stint, id, "succeeded");
          assert.equal(r.returnValue, 5);
          assert.ok(r.startedAt!.getTime() >= r.scheduledAt.getTime(), "not run before it was due");
        }));

      test("a local enqueue wakes an idle worker long before its polling interval", () =>
        withStint(target, { tasks, ...fastRuntime({ pollingInterval: "10s" }) }, async (stint) => {
          const warmup = await stint.enqueue(add, { a: 0, b: 0 });
          await stint.start({ mode: "async" });
          await waitForStatus(stint, warmup.id, "succeeded");
          await sleep(50); // the worker has found nothing more and sleeps for 10 s
          const { id } = await stint.enqueue(add, { a: 1, b: 1 });
          const r = await waitForStatus(stint, id, "succeeded", 3000);
          assert.equal(r.returnValue, 2);
        }));

      // Regression: a claim that came back empty made the worker wait a whole
      // polling interval, even when a wake-up had arrived while that claim was in
      // flight, for a job its snapshot was too early to see.
      test("a job enqueued while a claim that misses it is in flight does not wait for the next poll", () =>
        withStint(target, { tasks, listenNotify: false, ...fastRuntime({ pollingInterval: "10s" }) }, async (stint) => {
          const claim = stint.driver.jobClaim.bind(stint.driver);
          let late: Promise<{ id: string }> | null = null;
          stint.driver.jobClaim = async (p) => {
            const jobs = await claim(p);
            // The first claim has answered (nothing) but the worker has not seen the answer yet.
            late ??= stint.enqueue(add, { a: 2, b: 3 });
            await late;
            return jobs;
          };
          await stint.start({ mode: "async" });
          await waitFor("the first claim", () => late !== null);
          const { id } = await late!;
          const r = await waitForStatus(stint, id, "succeeded", 3000);
          assert.equal(r.returnValue, 5);
        }));

      test("retryAll wakes idle workers of the retried jobs' queues, not only wildcard ones", () => {
        let calls = 0;
        const flaky = defineTask("wake_flaky", () => {
          if (++calls === 1) throw new Error("first run fails");
          return "ok";
        }, { queue: "mail" });
        return withStint(target, { tasks: [flaky], ...fastRuntime({ queues: ["mail"], pollingInterval: "10s" }) }, async (stint) => {
          const { id } = await stint.enqueue(flaky, null);
          await stint.start({ mode: "async" });
          await waitForStatus(stint, id, "failed");
          await sleep(50); // the worker has found nothing more and sleeps for 10 s
          assert.equal(await stint.retryAll(), 1);
          const r = await waitForStatus(stint, id, "succeeded", 3000);
          assert.equal(r.returnValue, "ok");
        });
      });

      test("a finishing job wakes its full worker to claim again (no polling at capacity)", () =>
        withStint(target, { tasks, ...fastRuntime({ pollingInterval: "10s", concurrency: 1 }) }, async (stint) => {
          const handles = await stint.enqueueAll([1, 2, 3, 4].map((n) => ({ task: add, payload: { a: n, b: 0 } })));
          await stint.start({ mode: "async" });
          for (const [i, h] of handles.entries()) {
            assert.equal((await waitForStatus(stint, h.id, "succeeded", 3000)).returnValue, i + 1);
          }
        }));

      test("a worker never runs more than `concurrency` jobs at once", () => {
        let running = 0;
        let max = 0;
        const slow = defineTask("slow", async () => {
          running++;
          max = Math.max(max, running);
          await sleep(30);
          running--;
          return max;
        });
        return withStint(target, { tasks: [slow], ...fastRuntime({ concurrency: 2 }) }, async (stint) => {
          const handles = await stint.enqueueAll(Array.from({ length: 8 }, () => ({ task: slow })));
          await stint.start({ mode: "async" });
          for (const h of handles) await waitForStatus(stint, h.id, "succeeded");
          assert.equal(max, 2, "two slots, both used, never a third");
        });
      });

      test("a worker with omitted queues runs jobs of any queue; a restricted one only its own", () =>
        withStint(target, { tasks, ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const a = await stint.enqueue(add, { a: 1, b: 0 }, { queue: "alpha" });
          const b = await stint.enqueue(add, { a: 2, b: 0 }, { queue: "beta_z" });
          await waitForStatus(stint, a.id, "succeeded");
          await waitForStatus(stint, b.id, "succeeded");
        }).then(() =>
          withStint(target, { tasks, ...fastRuntime({ queues: ["only*"] }) }, async (stint) => {
            const other = await stint.enqueue(add, { a: 1, b: 0 }, { queue: "other" });
            await stint.start({ mode: "async" });
            const mine = await stint.enqueue(add, { a: 2, b: 0 }, { queue: "only_me" });
            await waitForStatus(stint, mine.id, "succeeded");
            await sleep(60);
            assert.equal((await stint.getResult(other.id)).status, "ready");
          })
        ));
    });
  });
}
