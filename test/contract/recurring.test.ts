/** Recurring tasks: static sync, dynamic schedule/unschedule, firing each slot once (SEMANTICS 12-15). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, createStint, defineTask, JobNotFoundError, type Stint } from "../../mod.ts";
import type { JobStatus } from "../../src/records.ts";
import { targets } from "../support/targets.ts";
import { fastRuntime, sleep, uniqueBackend, uniqueName, withDatabase, withStint, withStintAt } from "../support/harness.ts";
import { waitFor } from "../support/wait.ts";

const tick = defineTask("tick", (_: unknown) => null);
const report = defineTask("report", (_: { who?: string }) => null, { queue: "reports", priority: 3 });
const tasks = [tick, report];
const STATUSES: JobStatus[] = ["ready", "running", "succeeded", "failed", "scheduled", "blocked", "discarded", "cancelled"];
const fast = { ...fastRuntime(), scheduler: { pollingInterval: "50ms" } };

/** Every job of `task` in the backend, whatever its state. */
async function jobsOf(stint: Stint, task: string) {
  const lists = await Promise.all(STATUSES.map((status) => stint.listJobs(status, { limit: 1000 })));
  return lists.flat().filter((j) => j.task === task);
}

/** The latest firing of a yearly cron, so nothing else is due before next year. */
function lastNewYear(): Date {
  return new Date(Date.UTC(new Date().getUTCFullYear(), 0, 1));
}

async function rejectsConfig(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("recurring: configuration", () => {
      test("a bad cron, time zone or task name is a ConfigError at createStint, and nothing is written (SEMANTICS 15)", () =>
        withDatabase(target, async (url) => {
          const backend = uniqueBackend();
          const create = (recurring: Record<string, unknown>) => createStint({ url, backend, tasks, recurring } as never);
          await rejectsConfig(() => create({ a: { task: "tick", cron: "every minute" } }), /recurring\.a\.cron/);
          await rejectsConfig(() => create({ a: { task: "tick", cron: "61 * * * *" } }), /recurring\.a.*minute/);
          await rejectsConfig(() => create({ a: { task: "tick", cron: "* * * * *", timeZone: "Mars/Olympus" } }), /Mars\/Olympus/);
          await rejectsConfig(() => create({ a: { task: "nope", cron: "* * * * *" } }), /unknown task "nope"/);
          await rejectsConfig(() => create({ a: { task: "tick", cron: "* * * * *", every: 1 } }), /unknown option "every"/);
          await rejectsConfig(() => create({ a: { task: "tick", cron: "* * * * *", priority: 500 } }), /priority/);
          await rejectsConfig(() => create({ a: { task: "tick", cron: "* * * * *", payload: { at: new Date() } } }), /payload/);
          await withStintAt(url, { tasks, backend }, async (stint) => {
            assert.deepEqual(await stint.driver.recurringList({ backend }), []);
          });
        }));

      test("static sync: new keys inserted, changed ones updated, removed ones deleted, unchanged rows untouched", () =>
        withStint(target, { tasks }, async (stint) => {
          const { backend, driver } = stint;
          const def = (key: string, description: string | null = null) => ({
            key, task: "tick", cron: "0 3 * * *", timeZone: null, payload: "null", queue: null, priority: null, description,
          });
          const next = (keys: string[]) => new Map(keys.map((k) => [k, new Date(Date.now() + 3_600_000)]));
          const now = new Date();
          assert.deepEqual(await driver.recurringSync({ backend, tasks: [def("a"), def("b")], nextRunAt: next(["a", "b"]), now }), {
            inserted: 2, updated: 0, deleted: 0,
          });
          assert.deepEqual(await driver.recurringSync({ backend, tasks: [def("a"), def("b")], nextRunAt: next(["a", "b"]), now }), {
            inserted: 0, updated: 0, deleted: 0,
          });
          const changed = [def("a", "now described"), def("c")];
          assert.deepEqual(await driver.recurringSync({ backend, tasks: changed, nextRunAt: next(["a", "c"]), now }), {
            inserted: 1, updated: 1, deleted: 1,
          });
          const rows = await driver.recurringList({ backend });
          assert.deepEqual(rows.map((r) => [r.key, r.description, r.static]), [["a", "now described", true], ["c", null, true]]);
        }));

      test("a supervisor syncs the recurring option at start; a dynamic task survives the sync", () =>
        withDatabase(target, async (url) => {
          const backend = uniqueBackend();
          const first = { a: { task: "tick", cron: "0 3 * * *" }, b: { task: report, cron: "@daily", payload: { who: "b" } } };
          await withStintAt(url, { tasks, backend, ...fast, recurring: first, scheduler: { pollingInterval: "50ms", dynamicTasks: true } }, async (stint) => {
            await stint.schedule({ key: "dyn", task: "tick", cron: "0 4 * * *" });
            await stint.start({ mode: "async" });
            await waitFor("the static tasks", async () => (await stint.stats()).recurring.length === 3);
            const b = (await stint.stats()).recurring.find((r) => r.key === "b")!;
            assert.equal(b.task, "report");
            assert.equal(b.static, true);
            assert.equal(b.cron, "@daily");
            assert.ok(b.nextRunAt !== null && new Date(b.nextRunAt).getTime() > Date.now());
          });
          const second = { a: { task: "tick", cron: "0 5 * * *" }, c: { task: "tick", cron: "0 6 * * *" } };
          await withStintAt(url, { tasks, backend, ...fast, recurring: second }, async (stint) => {
            await stint.start({ mode: "async" });
            await waitFor("the new sync", async () => {
              const keys = (await stint.stats()).recurring.map((r) => `${r.key}:${r.cron}:${r.static}`);
              return keys.join(",") === "a:0 5 * * *:true,c:0 6 * * *:true,dyn:0 4 * * *:false";
            });
          });
        }));

      test("skipRecurring and only start no scheduler; the scheduler polls on its explicit interval", () =>
        withStint(target, { tasks, ...fast, recurring: { a: { task: "tick", cron: "0 3 * * *" } } }, async (stint) => {
          const kinds = async () => (await stint.driver.processList({ backend: stint.backend })).map((p) => p.kind).sort();
          const skip = await stint.start({ mode: "async", skipRecurring: true });
          assert.deepEqual(await kinds(), ["dispatcher", "supervisor", "worker"]);
          await skip.stop();
          const work = await stint.start({ mode: "async", only: "work" });
          assert.deepEqual(await kinds(), ["supervisor", "worker"]);
          await work.stop();
          assert.deepEqual(await stint.driver.recurringList({ backend: stint.backend }), [], "nothing synced without a scheduler");
          await stint.start({ mode: "async" });
          const scheduler = (await stint.driver.processList({ backend: stint.backend })).find((p) => p.kind === "scheduler");
          assert.equal(scheduler?.metadata.pollingInterval, 50);
        }));
    });

    describe("recurring: dynamic tasks", () => {
      test("schedule and unschedule need scheduler.dynamicTasks for schedule; unschedule of a static key is 0", () =>
        withStint(target, { tasks, recurring: { fixed: { task: "tick", cron: "0 3 * * *" } }, scheduler: { dynamicTasks: true } }, async (stint) => {
          const created = await stint.schedule({ key: "tenant_42", task: report, cron: "0 * * * *", queue: "r42", priority: 5, payload: { who: "42" }, description: "hourly" });
          assert.equal(created.created, true);
          assert.ok(created.nextRunAt !== null && created.nextRunAt.getTime() > Date.now());
          const updated = await stint.schedule({ key: "tenant_42", task: report, cron: "30 * * * *" });
          assert.equal(updated.created, false);
          const [row] = await stint.driver.recurringList({ backend: stint.backend });
          assert.deepEqual([row.key, row.cron, row.static, row.queue, row.description], ["tenant_42", "30 * * * *", false, null, null]);
          assert.equal(row.nextRunAt?.getUTCMinutes(), 30, "a changed cron moves the next slot");
          await rejectsConfig(() => stint.schedule({ key: "fixed", task: "tick", cron: "* * * * *" }), /static/);
          assert.equal(await stint.unschedule("fixed"), 0);
          assert.equal(await stint.unschedule("tenant_42"), 1);
          assert.equal(await stint.unschedule("tenant_42"), 0);
        }));

      test("schedule rejects a bad cron, an unknown task or a disabled switch, and writes nothing (SEMANTICS 15)", () =>
        withStint(target, { tasks, scheduler: { dynamicTasks: true } }, async (stint) => {
          await rejectsConfig(() => stint.schedule({ key: "k", task: "tick", cron: "* * *" }), /schedule\.cron/);
          await rejectsConfig(() => stint.schedule({ key: "k", task: "missing", cron: "* * * * *" }), /unknown task "missing"/);
          await rejectsConfig(() => stint.schedule({ key: "", task: "tick", cron: "* * * * *" }), /key/);
          await rejectsConfig(() => stint.schedule({ key: "k", task: "tick", cron: "0 9 * * *", timeZone: "Nowhere/Land" }), /Nowhere/);
          assert.deepEqual(await stint.driver.recurringList({ backend: stint.backend }), []);
          await withStint(target, { tasks }, async (off) => {
            await rejectsConfig(() => off.schedule({ key: "k", task: "tick", cron: "* * * * *" }), /dynamicTasks/);
          });
        }));

      test("a cron is read in its time zone (UTC by default)", () =>
        withStint(target, { tasks, scheduler: { dynamicTasks: true } }, async (stint) => {
          const { nextRunAt } = await stint.schedule({ key: "ny", task: "tick", cron: "0 9 * * *", timeZone: "America/New_York" });
          const parts = new Intl.DateTimeFormat("en-US", {
            timeZone: "America/New_York", hour: "numeric", minute: "numeric", hourCycle: "h23",
          }).formatToParts(nextRunAt!);
          assert.equal(Number(parts.find((p) => p.type === "hour")?.value), 9);
          assert.equal(Number(parts.find((p) => p.type === "minute")?.value), 0);
          const utc = await stint.schedule({ key: "utc", task: "tick", cron: "0 9 * * *" });
          assert.equal(utc.nextRunAt?.getUTCHours(), 9);
          const ny = (await stint.stats()).recurring.find((r) => r.key === "ny");
          assert.equal(ny?.timeZone, "America/New_York");
        }));
    });

    describe("recurring: firing", () => {
      test("three schedulers over one database fire each slot of a seconds cron exactly once", () =>
        withDatabase(target, async (url) => {
          const backend = uniqueBackend();
          const recurring = { every_second: { task: "tick", cron: "* * * * * *", payload: { n: 1 } } };
          const options = { tasks, backend, ...fast, recurring };
          await withStintAt(url, options, (a) =>
            withStintAt(url, options, (b) =>
              withStintAt(url, options, async (c) => {
                await Promise.all([a, b, c].map((s) => s.start({ mode: "async" })));
                await sleep(3500);
                await Promise.all([a, b, c].map((s) => s.close()));
              })));
          await withStintAt(url, { backend }, async (stint) => {
            const jobs = await jobsOf(stint, "tick");
            const slots = jobs.map((j) => j.scheduledAt.getTime());
            assert.ok(jobs.length >= 2, `expected at least 2 slots fired, got ${jobs.length}`);
            assert.equal(new Set(slots).size, slots.length, `a slot fired twice: ${slots.sort().join(", ")}`);
            for (const slot of slots) assert.equal(slot % 1000, 0, "a job is due at its slot");
            const last = (await stint.driver.recurringList({ backend }))[0].lastRunAt!.getTime();
            assert.equal(last, Math.max(...slots));
          });
        }));

      test("a fired job takes the definition's queue, priority and payload, else the task's defaults", () =>
        withStint(target, { tasks, ...fast, scheduler: { pollingInterval: "50ms", dynamicTasks: true } }, async (stint) => {
          await stint.schedule({ key: "custom", task: report, cron: "* * * * * *", queue: "custom_q", priority: -7, payload: { who: "x" } });
          await stint.schedule({ key: "plain", task: report, cron: "* * * * * *" });
          await stint.start({ mode: "async" });
          const fired = await waitFor("both tasks to fire", async () => {
            const jobs = await jobsOf(stint, "report");
            const custom = jobs.find((j) => j.queue === "custom_q");
            const plain = jobs.find((j) => j.queue === "reports");
            return custom && plain ? { custom, plain } : null;
          }, { timeout: 5000 });
          assert.equal(fired.custom.priority, -7);
          assert.equal(fired.plain.priority, 3);
          assert.deepEqual((await stint.getResult(fired.custom.id)).payload, { who: "x" });
          assert.equal((await stint.getResult(fired.plain.id)).payload, null);
        }));

      test("a crash between reserving and enqueueing is recovered with the recorded job id (SEMANTICS 14)", () =>
        withStint(target, { tasks, ...fast, scheduler: { pollingInterval: "50ms", dynamicTasks: true } }, async (stint) => {
          const { backend, driver } = stint;
          const slot = lastNewYear();
          const now = new Date();
          const def = { key: "yearly", task: "tick", cron: "0 0 1 1 *", timeZone: null, payload: "null", queue: null, priority: null, description: null };
          assert.equal(await driver.recurringUpsert({ backend, task: def, nextRunAt: slot, now }), "inserted");
          const intended = crypto.randomUUID();
          // A scheduler reserved the slot and stopped before enqueueing.
          assert.deepEqual(await driver.recurringReserve({ backend, key: "yearly", runAt: slot, jobId: intended, now }), {
            jobId: intended, pending: true,
          });
          await stint.start({ mode: "async" });
          const result = await waitFor("the intended job", () => stint.getResult(intended).catch(() => null), { timeout: 5000 });
          assert.equal(result.task, "tick");
          assert.equal(result.scheduledAt.getTime(), slot.getTime());
          await sleep(200);
          assert.equal((await jobsOf(stint, "tick")).length, 1, "the slot fired once");
          const [row] = await driver.recurringList({ backend });
          assert.equal(row.lastRunAt?.getTime(), slot.getTime());
          assert.ok(row.nextRunAt!.getTime() > Date.now(), "the task moved to its next slot");
        }));

      test("a reservation outlives its job: a slot whose job was cleaned up never fires again (SEMANTICS 13)", () =>
        withStint(target, { tasks }, async (stint) => {
          const { backend, driver } = stint;
          const slot = lastNewYear();
          const now = new Date();
          const def = { key: "yearly", task: "tick", cron: "0 0 1 1 *", timeZone: null, payload: "null", queue: null, priority: null, description: null };
          await driver.recurringUpsert({ backend, task: def, nextRunAt: slot, now });
          const first = await driver.recurringReserve({ backend, key: "yearly", runAt: slot, jobId: crypto.randomUUID(), now });
          assert.equal(first.pending, true);
          const job = { id: first.jobId, task: "tick", queue: "default", priority: 0, payload: "null", scheduledAt: slot, concurrency: null };
          const inserted = await driver.recurringEnqueue({ backend, key: "yearly", runAt: slot, job, nextRunAt: new Date(Date.UTC(slot.getUTCFullYear() + 1, 0, 1)), now });
          assert.equal(inserted?.id, first.jobId);
          assert.equal(await driver.recurringEnqueue({ backend, key: "yearly", runAt: slot, job, nextRunAt: null, now }), null, "enqueued once");
          await stint.discardJob(first.jobId);
          await sleep(5);
          assert.equal((await stint.prune({ finishedOlderThan: 0 })).finished, 1);
          await assert.rejects(() => stint.getResult(first.jobId), JobNotFoundError);
          const again = await driver.recurringReserve({ backend, key: "yearly", runAt: slot, jobId: crypto.randomUUID(), now: new Date() });
          assert.deepEqual(again, { jobId: first.jobId, pending: false });
        }));

      test("schedulers fire dynamic tasks only with dynamicTasks on; a task is enqueued with its concurrency", () => {
        const limited = defineTask("limited_tick", (_: { k: string }) => null, { concurrency: { key: "rt:{k}", limit: 1, onConflict: "discard" } });
        const k = uniqueName("k");
        return withDatabase(target, async (url) => {
          const backend = uniqueBackend();
          await withStintAt(url, { tasks: [limited], backend, scheduler: { dynamicTasks: true } }, async (admin) => {
            await admin.schedule({ key: "dyn", task: limited, cron: "* * * * * *", payload: { k } });
          });
          await withStintAt(url, { tasks: [limited], backend, ...fast, workers: [{ queues: ["none"] }] }, async (off) => {
            await off.start({ mode: "async" });
            await sleep(1300);
            assert.equal((await jobsOf(off, "limited_tick")).length, 0, "a scheduler without dynamicTasks leaves dynamic tasks alone");
          });
          await withStintAt(url, {
            tasks: [limited], backend, ...fast, workers: [{ queues: ["none"] }], scheduler: { pollingInterval: "50ms", dynamicTasks: true },
          }, async (on) => {
            await on.start({ mode: "async" });
            const jobs = await waitFor("two firings", async () => {
              const list = await jobsOf(on, "limited_tick");
              return list.length >= 2 ? list : null;
            }, { timeout: 5000 });
            // Nothing runs them (no worker takes "default"): the first holds the slot, the next is discarded.
            const statuses = await Promise.all(jobs.map(async (j) => (await on.getResult(j.id)).status));
            assert.ok(statuses.includes("ready"));
            assert.ok(statuses.includes("discarded"));
          });
        });
      });
    });
  });
}
