/** Concurrency limits: semaphores per key, blocking and discarding, release and maintenance (SEMANTICS 8-11). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defineTask, EnqueueError, type Stint, type Task } from "../../mod.ts";
import { type Target, targets } from "../support/targets.ts";
import { fastRuntime, sleep, uniqueBackend, uniqueName, withDatabase, withStint, withStintAt } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

// Semaphores are database-wide: every test uses its own keys (payload field `k`).
const gated = defineTask("gated", (_: { k: string; n?: number }) => null, {
  concurrency: { key: "gate:{k}", limit: 1 },
});
const pair = defineTask("pair", (_: { k: string }) => null, { concurrency: { key: (p) => `pair:${p.k}`, limit: 2 } });
const single = defineTask("single", (_: { k: string }) => null, {
  concurrency: { key: "single:{k}", limit: 1, onConflict: "discard", duration: "30s" },
});
const leased = defineTask("leased", (_: { k: string }) => null, {
  concurrency: { key: "leased:{k}", limit: 1, duration: "50ms" },
});
const tasks = [gated, pair, single, leased];

const ERROR = { name: "TestFailure", message: "failed on purpose", stack: null };

async function statuses(stint: Stint, ids: string[]): Promise<string[]> {
  return await Promise.all(ids.map(async (id) => (await stint.getResult(id)).status));
}

async function semaphore(stint: Stint, key: string) {
  return (await stint.driver.semaphoreList({ limit: 1000 })).find((s) => s.key === key);
}

function finish(stint: Stint, processId: string | null, id: string, kind: "succeeded" | "failed" | "cancelled") {
  const outcome = kind === "succeeded"
    ? { id, kind, returnValue: "null" } as const
    : { id, kind, error: ERROR } as const;
  return stint.driver.jobFinishMany({ backend: stint.backend, processId, outcomes: [outcome], preserveFinished: true, now: new Date() });
}

function withTwo(target: Target, options: object, fn: (a: Stint, b: Stint) => Promise<void>): Promise<void> {
  return withDatabase(target, (url) => withStintAt(url, options, (a) => withStintAt(url, options, (b) => fn(a, b))));
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("concurrency: enqueue", () => {
      test("the first job of a key gets the slot, the next is blocked; other keys are free", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          const a = await stint.enqueue(gated, { k });
          const b = await stint.enqueue(gated, { k });
          const other = await stint.enqueue(gated, { k: `${k}-other` });
          assert.deepEqual([a.status, b.status, other.status], ["ready", "blocked", "ready"]);
          assert.deepEqual(await statuses(stint, [a.id, b.id, other.id]), ["ready", "blocked", "ready"]);
          const [info] = await stint.driver.queueList({ backend: stint.backend, queue: "default" });
          assert.equal(info.ready, 2);
          assert.equal(info.blocked, 1);
          const sem = await semaphore(stint, `gate:${k}`);
          assert.equal(sem?.value, 0);
          assert.equal(sem?.limit, 1);
          assert.equal(sem?.waiters, 1);
        }));

      test("onConflict discard keeps the job as a finished discarded row (SEMANTICS 11)", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          const first = await stint.enqueue(single, { k });
          const second = await stint.enqueue(single, { k });
          assert.equal(first.status, "ready");
          assert.equal(second.status, "discarded");
          const r = await stint.getResult(second.id);
          assert.equal(r.status, "discarded");
          assert.ok(r.finishedAt instanceof Date);
          assert.equal(await stint.queue("default").size(), 1);
        }));

      test("the policy is stored on the job, with the task's or the configured default duration (SEMANTICS 8)", () =>
        withStint(target, { tasks, defaultConcurrencyDuration: "2m" }, async (stint) => {
          const k = uniqueName("k");
          const a = await stint.enqueue(gated, { k });
          const s = await stint.enqueue(single, { k });
          const p = await stint.enqueue(pair, { k });
          const policy = async (id: string) => (await stint.driver.jobGet({ backend: stint.backend, id }))?.concurrency;
          assert.deepEqual(await policy(a.id), { key: `gate:${k}`, limit: 1, durationMs: 120_000, onConflict: "block" });
          assert.deepEqual(await policy(s.id), { key: `single:${k}`, limit: 1, durationMs: 30_000, onConflict: "discard" });
          assert.deepEqual(await policy(p.id), { key: `pair:${k}`, limit: 2, durationMs: 120_000, onConflict: "block" });
          assert.equal((await stint.getResult(a.id)).status, "ready");
          const copy = await stint.enqueueAgain(a.id);
          assert.equal(copy.status, "blocked", "a copy keeps the stored policy and waits for the slot");
          assert.deepEqual(await policy(copy.id), await policy(a.id));
        }));

      test("enqueueAll: one batch fills the limit in order and blocks the rest", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          const handles = await stint.enqueueAll([1, 2, 3, 4].map((n) => ({ task: pair, payload: { k, n } })));
          assert.deepEqual(handles.map((h) => h.status), ["ready", "ready", "blocked", "blocked"]);
        }));

      test("a bad key, a missing limit or an unknown onConflict is an EnqueueError and writes nothing", () =>
        withStint(target, { tasks }, async (stint) => {
          const rejects = (fn: () => Promise<unknown>, pattern: RegExp) =>
            assert.rejects(fn, (e: unknown) => e instanceof EnqueueError && pattern.test(e.message));
          await rejects(() => stint.enqueue(gated, {} as { k: string }), /no usable field "k"/);
          await rejects(() => stint.enqueue(gated, { k: { nested: true } } as unknown as { k: string }), /no usable field "k"/);
          await rejects(() => stint.enqueue("gated", null), /no usable field "k"/);
          const empty = defineTask("empty_key", () => null, { concurrency: { key: () => "", limit: 1 } });
          await rejects(() => stint.enqueue(empty, null), /resolved to ""/);
          const throwing = defineTask("throwing_key", () => null, {
            concurrency: { key: () => { throw new Error("no account"); }, limit: 1 },
          });
          await rejects(() => stint.enqueue(throwing, null), /no account/);
          const long = defineTask("long_key", () => null, { concurrency: { key: () => "x".repeat(256), limit: 1 } });
          await rejects(() => stint.enqueue(long, null), /at most 255/);
          // A task object built without defineTask (say, spread to change an option) is checked at enqueue.
          const noLimit = { ...gated, concurrency: { key: "x" } } as unknown as Task;
          await rejects(() => stint.enqueue(noLimit, { k: "x" }), /limit is missing/);
          const badConflict = { ...gated, concurrency: { key: "x", limit: 1, onConflict: "queue" } } as unknown as Task;
          await rejects(() => stint.enqueue(badConflict, { k: "x" }), /onConflict/);
          await rejects(() => stint.enqueueAll([{ task: gated, payload: { k: "fine" } }, { task: gated, payload: {} }]), /items\[1\]/);
          assert.deepEqual(await stint.driver.queueList({ backend: stint.backend }), []);
        }));

      test("defineTask rejects a bad concurrency option with a ConfigError", () => {
        const bad = (concurrency: unknown, pattern: RegExp) =>
          assert.throws(
            () => defineTask("bad", () => null, { concurrency } as never),
            (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
          );
        bad({ key: "k" }, /limit is missing/);
        bad({ key: "k", limit: 0 }, /limit/);
        bad({ key: "k", limit: 1, onConflict: "wait" }, /onConflict/);
        bad({ key: 42, limit: 1 }, /key/);
        bad({ key: "", limit: 1 }, /key/);
        bad({ key: "k", limit: 1, duration: "soon" }, /duration/);
        bad({ key: "k", limit: 1, duration: 0 }, /duration/);
        bad({ key: "k", limit: 1, group: "x" }, /unknown option "group"/);
      });
    });

    describe("concurrency: release", () => {
      for (const kind of ["succeeded", "failed", "cancelled"] as const) {
        test(`a job that ${kind === "succeeded" ? "succeeds" : kind === "failed" ? "fails" : "is cancelled"} hands its slot to the next waiter at once`, () =>
          withStint(target, { tasks }, async (stint) => {
            const k = uniqueName("k");
            const [a, b, c] = await stint.enqueueAll([1, 2, 3].map((n) => ({ task: gated, payload: { k, n } })));
            const processId = await registerProcess(stint);
            assert.deepEqual((await claim(stint, processId, ["*"], 10)).map((j) => j.id), [a.id]);
            assert.deepEqual(await finish(stint, processId, a.id, kind), [a.id]);
            assert.deepEqual(await statuses(stint, [a.id, b.id, c.id]), [kind, "ready", "blocked"]);
            assert.equal((await semaphore(stint, `gate:${k}`))?.value, 0);
          }));
      }

      test("a retry gives the slot up and goes to the back of the line", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          const [a, b] = await stint.enqueueAll([1, 2].map((n) => ({ task: gated, payload: { k, n } })));
          const processId = await registerProcess(stint);
          await claim(stint, processId, ["*"], 10);
          await stint.driver.jobFinishMany({
            backend: stint.backend,
            processId,
            outcomes: [{ id: a.id, kind: "retry", error: ERROR, retryAt: new Date(Date.now() - 1) }],
            preserveFinished: true,
            now: new Date(),
          });
          assert.deepEqual(await statuses(stint, [a.id, b.id]), ["blocked", "ready"]);
        }));

      test("discarding or cancelling a ready job releases its slot; a blocked one leaves the line", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          const [a, b, c, d] = await stint.enqueueAll([1, 2, 3, 4].map((n) => ({ task: gated, payload: { k, n } })));
          await stint.discardJob(a.id);
          assert.deepEqual(await statuses(stint, [a.id, b.id, c.id, d.id]), ["discarded", "ready", "blocked", "blocked"]);
          await stint.cancel(c.id); // blocked: holds no slot
          assert.deepEqual(await statuses(stint, [b.id, c.id, d.id]), ["ready", "cancelled", "blocked"]);
          await stint.cancel(b.id);
          assert.deepEqual(await statuses(stint, [b.id, d.id]), ["cancelled", "ready"]);
          assert.equal((await semaphore(stint, `gate:${k}`))?.value, 0);
          assert.equal(await stint.queue("default").clear(), 1);
          assert.equal((await semaphore(stint, `gate:${k}`))?.value, 1, "clearing a ready job releases its slot");
        }));

      test("releasing never raises the semaphore above its limit (SEMANTICS 9)", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          const jobs = await stint.enqueueAll([1, 2].map(() => ({ task: pair, payload: { k } })));
          const processId = await registerProcess(stint);
          await claim(stint, processId, ["*"], 10);
          for (const j of jobs) await finish(stint, processId, j.id, "succeeded");
          await finish(stint, processId, jobs[0].id, "succeeded"); // a duplicate outcome is ignored
          const sem = await semaphore(stint, `pair:${k}`);
          assert.equal(sem?.value, 2);
          assert.equal(sem?.limit, 2);
        }));

      test("a pruned claim releases once: the late outcome of its dead process releases nothing (SEMANTICS 9)", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          const [a, b, c] = await stint.enqueueAll([1, 2, 3].map((n) => ({ task: gated, payload: { k, n } })));
          const processId = await registerProcess(stint);
          await claim(stint, processId, ["*"], 10);
          await stint.driver.processDeregister({ backend: stint.backend, id: processId }); // declared dead
          assert.deepEqual(await finish(stint, null, a.id, "failed"), [a.id]); // the orphaned claim is failed
          assert.deepEqual(await statuses(stint, [a.id, b.id, c.id]), ["failed", "ready", "blocked"]);
          assert.deepEqual(await finish(stint, processId, a.id, "succeeded"), [], "the dead process no longer holds it");
          assert.deepEqual(await statuses(stint, [a.id, b.id, c.id]), ["failed", "ready", "blocked"]);
          assert.equal((await semaphore(stint, `gate:${k}`))?.value, 0);
        }));

      test("a scheduled job becoming due, and a retried failed job, go through the same rules", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          const a = await stint.enqueue(gated, { k });
          const later = await stint.enqueue(gated, { k }, { runAt: new Date(Date.now() + 30) });
          assert.equal(later.status, "scheduled");
          await sleep(60);
          const promoted = await stint.driver.jobPromoteDue({ backend: stint.backend, limit: 10, now: new Date() });
          assert.equal(promoted.count, 1);
          assert.deepEqual(promoted.queues, [], "a blocked job wakes no worker");
          assert.deepEqual(await statuses(stint, [a.id, later.id]), ["ready", "blocked"]);

          const processId = await registerProcess(stint);
          await claim(stint, processId, ["*"], 10);
          await finish(stint, processId, a.id, "failed");
          assert.deepEqual(await statuses(stint, [a.id, later.id]), ["failed", "ready"]);
          await stint.retryJob(a.id);
          assert.deepEqual(await statuses(stint, [a.id, later.id]), ["blocked", "ready"]);
        }));

      test("semaphores are database-wide: a key is shared by every backend", () =>
        withTwo(target, { tasks }, async (a, b) => {
          const k = uniqueName("k");
          const ja = await a.enqueue(gated, { k });
          const jb = await b.enqueue(gated, { k });
          assert.equal(ja.status, "ready");
          assert.equal(jb.status, "blocked");
          const processId = await registerProcess(a);
          await claim(a, processId, ["*"], 10);
          await finish(a, processId, ja.id, "succeeded");
          assert.equal((await b.getResult(jb.id)).status, "ready", "the slot went to the waiter in the other backend");
        }));
    });

    describe("concurrency: maintenance", () => {
      test("expired semaphores are deleted and blocked jobs whose lease ran out are promoted", () =>
        withStint(target, { tasks }, async (stint) => {
          const k = uniqueName("k");
          // The lease runs 50 ms from the enqueue: "while it holds" is a time before the enqueue, not
          // the clock after it (a loaded machine took longer than 50 ms over the enqueue once).
          const beforeEnqueue = new Date();
          const [a, b, c] = await stint.enqueueAll([1, 2, 3].map((n) => ({ task: leased, payload: { k, n } })));
          const early = await stint.driver.concurrencyMaintain({ backend: stint.backend, limit: 100, now: beforeEnqueue });
          assert.equal(early.promoted, 0, "nothing is promoted while the lease holds");
          await sleep(80);
          const result = await stint.driver.concurrencyMaintain({ backend: stint.backend, limit: 100, now: new Date() });
          assert.ok(result.expired >= 1);
          assert.equal(result.promoted, 1);
          assert.deepEqual(result.queues, ["default"]);
          assert.deepEqual(await statuses(stint, [a.id, b.id, c.id]), ["ready", "ready", "blocked"]);
        }));

      test("two maintenance passes racing on an expired key promote exactly one waiter (SEMANTICS 10)", () =>
        withDatabase(target, async (url) => {
          const backend = uniqueBackend();
          await withStintAt(url, { tasks, backend }, (one) =>
            withStintAt(url, { tasks, backend }, async (two) => {
              const k = uniqueName("k");
              const jobs = await one.enqueueAll([1, 2, 3, 4].map((n) => ({ task: leased, payload: { k, n } })));
              await sleep(80);
              const now = new Date();
              const results = await Promise.all(
                [one, two, one, two].map((s) => s.driver.concurrencyMaintain({ backend, limit: 100, now })),
              );
              assert.equal(results.reduce((sum, r) => sum + r.promoted, 0), 1);
              const after = await statuses(one, jobs.map((j) => j.id));
              assert.equal(after.filter((s) => s === "ready").length, 2);
              assert.equal(after.filter((s) => s === "blocked").length, 2);
            }));
        }));

      test("maintenance promotes only its own backend's blocked jobs", () =>
        withTwo(target, { tasks }, async (a, b) => {
          const k = uniqueName("k");
          await a.enqueue(leased, { k });
          const waiting = await b.enqueue(leased, { k });
          await sleep(80);
          const result = await a.driver.concurrencyMaintain({ backend: a.backend, limit: 100, now: new Date() });
          assert.equal(result.promoted, 0);
          assert.equal((await b.getResult(waiting.id)).status, "blocked");
          await b.driver.concurrencyMaintain({ backend: b.backend, limit: 100, now: new Date() });
          assert.equal((await b.getResult(waiting.id)).status, "ready");
        }));

      test("the dispatcher runs maintenance on its interval", () =>
        withStint(target, {
          tasks,
          dispatchers: [{ pollingInterval: "20ms", concurrencyMaintenanceInterval: "50ms" }],
        }, async (stint) => {
          const k = uniqueName("k");
          const [, b] = await stint.enqueueAll([1, 2].map((n) => ({ task: leased, payload: { k, n } })));
          await stint.start({ mode: "async", only: "dispatch" });
          await waitForStatus(stint, b.id, "ready", 5000);
        }));
    });

    describe("concurrency: runtime", () => {
      test("50 jobs with one key and limit 1 never overlap and run in enqueue order", () => {
        const log: Array<{ n: number; event: "start" | "end" }> = [];
        let running = 0;
        let most = 0;
        const serial = defineTask("serial", async ({ n }: { k: string; n: number }) => {
          running++;
          most = Math.max(most, running);
          log.push({ n, event: "start" });
          await sleep(2);
          log.push({ n, event: "end" });
          running--;
        }, { concurrency: { key: "serial:{k}", limit: 1 } });
        return withStint(target, { tasks: [serial], ...fastRuntime({ concurrency: 5, pollingInterval: "10ms" }) }, async (stint) => {
          const k = uniqueName("k");
          const jobs = await stint.enqueueAll(Array.from({ length: 50 }, (_, n) => ({ task: serial, payload: { k, n } })));
          assert.equal(jobs.filter((j) => j.status === "ready").length, 1);
          await stint.start({ mode: "async" });
          await waitFor("50 jobs to finish", () => log.filter((e) => e.event === "end").length === 50, { timeout: 30_000 });
          assert.equal(most, 1);
          assert.deepEqual(
            log.filter((e) => e.event === "start").map((e) => e.n),
            Array.from({ length: 50 }, (_, n) => n),
          );
          for (let i = 0; i < log.length; i += 2) assert.equal(log[i].n, log[i + 1].n, "each job ends before the next starts");
        });
      });

      test("5 concurrent enqueuers with limit 2: at most 2 run at once, and all run", () => {
        let running = 0;
        let most = 0;
        let done = 0;
        let started = 0;
        const limited = defineTask("limited", async (_: { k: string }) => {
          running++;
          most = Math.max(most, running);
          // The first two wait for each other, so the limit is seen in use without timing luck.
          if (++started <= 2) await waitFor("a second job to run", () => running >= 2, { timeout: 5000 }).catch(() => {});
          await sleep(5);
          running--;
          done++;
        }, { concurrency: { key: "limited:{k}", limit: 2 } });
        return withDatabase(target, async (url) => {
          const backend = uniqueBackend();
          const k = uniqueName("k");
          await withStintAt(url, { tasks: [limited], backend, ...fastRuntime({ concurrency: 6, pollingInterval: "10ms" }) }, async (runner) => {
            await runner.start({ mode: "async" });
            // Five clients with their own connections, enqueueing at the same time.
            await Promise.all([1, 2, 3, 4, 5].map(() =>
              withStintAt(url, { tasks: [limited], backend }, async (client) => {
                for (let i = 0; i < 6; i++) await client.enqueue(limited, { k });
              })
            ));
            await waitFor("30 jobs to finish", () => done === 30, { timeout: 30_000 });
            assert.ok(most <= 2, `at most 2 at once, saw ${most}`);
            assert.equal(most, 2, "the limit is used");
          });
        });
      });
    });
  });
}
