/**
 * The process registry under faults (issue 11): a claim for a process whose
 * row is gone inserts nothing; after an outage longer than
 * processAliveThreshold a supervisor keeps its own runners; a runner whose row
 * vanished registers again; health sees a supervisor that lost a runner; a
 * graceful stop heartbeats until its drain is over; a shutdownTimeout that
 * cannot fit the alive threshold is refused.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, createStint, defineTask, ProcessPrunedError, type TaskContext } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { uniqueBackend, withDatabase, withStint } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

const add = defineTask("registry_add", ({ a, b }: { a: number; b: number }) => a + b);

/** A fast runtime whose rows turn stale 1.5 s after their last heartbeat. */
const shortLived = {
  workers: [{ pollingInterval: "20ms", concurrency: 2 }],
  dispatchers: [{ pollingInterval: "50ms" }],
  processHeartbeatInterval: "200ms",
  processAliveThreshold: "1500ms",
  shutdownTimeout: "1s",
};

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("process registry: claims need a live row", () => {
      test("a claim for a process whose row was deleted claims nothing; the jobs stay ready", () =>
        withStint(target, { tasks: [add] }, async (stint) => {
          const jobs = await stint.enqueueAll([
            { task: add, payload: { a: 1, b: 1 } },
            { task: add, payload: { a: 2, b: 2 } },
          ]);
          const pruned = await registerProcess(stint, "pruned");
          await stint.driver.processDeregister({ backend: stint.backend, id: pruned });
          assert.deepEqual(await claim(stint, pruned, ["*"], 10), []);
          assert.deepEqual(await claim(stint, pruned, ["registry_q", "*"], 10), [], "with several selectors too");
          for (const { id } of jobs) assert.equal((await stint.getResult(id)).status, "ready");
          const live = await registerProcess(stint, "live");
          assert.equal((await claim(stint, live, ["*"], 10)).length, 2, "a live process claims them");
        }));
    });

    describe("process registry: outages and pruned rows", () => {
      test("after heartbeats failed for longer than processAliveThreshold, the supervisor keeps its runners", () =>
        withStint(target, { tasks: [add], ...shortLived, allowRuntimeErrors: true }, async (stint) => {
          const { driver } = stint;
          const beat = driver.processHeartbeat.bind(driver);
          const prune = driver.processPruneStale.bind(driver);
          let down = false;
          let prunesWhileStale = 0;
          // The database "goes away" for heartbeats only: maintenance keeps running and sees every row stale.
          driver.processHeartbeat = (p) => down ? Promise.reject(new Error("outage (injected)")) : beat(p);
          const supervisor = await stint.start({ mode: "async" });
          const ids = (await driver.processList({ backend: stint.backend })).map((p) => p.id);
          assert.ok(ids.includes(supervisor.workers[0].id));
          down = true;
          await waitFor("every row to be older than processAliveThreshold", async () => {
            const rows = await driver.processList({ backend: stint.backend });
            return rows.every((p) => Date.now() - p.lastHeartbeatAt.getTime() > 1700);
          }, { timeout: 15_000, interval: 50 });
          driver.processPruneStale = async (p) => {
            const out = await prune(p);
            prunesWhileStale++;
            return out;
          };
          await waitFor("two maintenance passes over the stale rows", () => prunesWhileStale >= 2, { timeout: 15_000 });
          down = false;

          const rows = await driver.processList({ backend: stint.backend });
          assert.deepEqual(rows.map((p) => p.id).sort(), [...ids].sort(), "no row of the live supervisor was pruned");
          assert.ok(supervisor.workers.every((w) => !w.stopSignal.aborted), "the worker still runs");
          const { id } = await stint.enqueue(add, { a: 20, b: 22 });
          assert.equal((await waitForStatus(stint, id, "succeeded", 10_000)).returnValue, 42);
          await waitFor("health to be good again", async () => (await stint.health({ maxAge: "1500ms" })).healthy, {
            timeout: 10_000,
            interval: 50,
          });
        }));

      test("a runner whose row was deleted under it registers again and keeps working", () =>
        withStint(target, { tasks: [add], ...shortLived, allowRuntimeErrors: true }, async (stint) => {
          const supervisor = await stint.start({ mode: "async" });
          const worker = supervisor.workers[0];
          const ids = async () => (await stint.driver.processList({ backend: stint.backend })).map((p) => p.id);
          // Another supervisor pruned them (its view: stale after an outage).
          for (const id of [worker.id, supervisor.id]) {
            await stint.driver.processDeregister({ backend: stint.backend, id });
          }
          await waitFor("the worker and the supervisor to register again", async () => {
            const now = await ids();
            return now.includes(worker.id) && now.includes(supervisor.id);
          }, { timeout: 10_000, interval: 25 });
          assert.equal(worker.stopSignal.aborted, false);
          assert.equal(supervisor.stopSignal.aborted, false);
          const { id } = await stint.enqueue(add, { a: 1, b: 2 });
          assert.equal((await waitForStatus(stint, id, "succeeded", 10_000)).returnValue, 3);
          await supervisor.stop();
          assert.deepEqual(await ids(), [], "every runner deregistered at stop");
        }));

      test("a worker whose row was pruned aborts the job it runs and starts none of those it had claimed ahead", () => {
        const started: string[] = [];
        const reasons: unknown[] = [];
        let open = () => {};
        const gate = new Promise<void>((resolve) => (open = resolve));
        const held = defineTask("registry_held", async (_: null, ctx: TaskContext) => {
          started.push(ctx.jobId);
          ctx.signal.addEventListener("abort", () => reasons.push(ctx.signal.reason));
          await gate;
          return "done";
        });
        const options = {
          tasks: [held],
          ...shortLived,
          workers: [{ pollingInterval: "20ms", concurrency: 1, prefetch: 2 }],
          allowRuntimeErrors: true,
        };
        return withStint(target, options, async (stint) => {
          const jobs = (await stint.enqueueAll([1, 2, 3].map(() => ({ task: held, payload: null })))).map((h) => h.id);
          const supervisor = await stint.start({ mode: "async" });
          const worker = supervisor.workers[0];
          const statuses = async () => await Promise.all(jobs.map(async (id) => (await stint.getResult(id)).status));
          await waitFor("one job running and two more claimed ahead", async () =>
            started.length === 1 && (await statuses()).every((s) => s === "running"), { timeout: 10_000, interval: 25 });
          try {
            // Another supervisor's recovery: the row goes, its claims lose their process and fail.
            await stint.driver.processDeregister({ backend: stint.backend, id: worker.id });
            await waitFor("the three claims to be failed by recovery", async () =>
              (await statuses()).every((s) => s === "failed"), { timeout: 10_000, interval: 25 });
            await waitFor("the worker to register again", async () =>
              (await stint.driver.processList({ backend: stint.backend })).some((p) => p.id === worker.id), {
              timeout: 10_000,
              interval: 25,
            });
            await waitFor("the running job to be aborted", () => reasons.length > 0, { timeout: 10_000 });
            assert.ok(reasons[0] instanceof ProcessPrunedError, String(reasons[0]));
          } finally {
            open();
          }
          // The worker takes new work only once what it had claimed ahead has started (or been dropped).
          const { id: next } = await stint.enqueue(held, null);
          await waitForStatus(stint, next, "succeeded", 10_000);
          assert.deepEqual(started, [started[0], next], "none of the jobs claimed ahead started after their claims were gone");
          assert.ok(jobs.includes(started[0]));
        });
      });

      test("a registration again that outlives its deadline and lands after the stop's deregistration is removed", () =>
        withStint(target, { tasks: [add], ...shortLived, allowRuntimeErrors: true }, async (stint) => {
          const { driver } = stint;
          const register = driver.processRegister.bind(driver);
          let land = () => {};
          const landed = new Promise<void>((resolve) => (land = resolve));
          let held = 0;
          const supervisor = await stint.start({ mode: "async" });
          const worker = supervisor.workers[0];
          // The worker's registration again is slow (past its deadline): it reaches the database only when let go.
          driver.processRegister = async (p) => {
            if (p.id !== worker.id) return await register(p);
            held++;
            await landed;
            return await register(p);
          };
          await driver.processDeregister({ backend: stint.backend, id: worker.id });
          await waitFor("the worker's registration again to be under way", () => held > 0, { timeout: 10_000 });
          await supervisor.stop();
          land();
          await waitFor("no row left once the late registration landed", async () =>
            (await driver.processList({ backend: stint.backend })).length === 0, { timeout: 10_000, interval: 25 });
        }));

      test("health is bad while a live supervisor has no row for one of its runners", () =>
        withStint(
          target,
          { tasks: [add], ...shortLived, processHeartbeatInterval: "1h", processAliveThreshold: "2h" },
          async (stint) => {
            const supervisor = await stint.start({ mode: "async" });
            assert.equal((await stint.health({ maxAge: "1h" })).healthy, true);
            // No heartbeat comes for an hour: the row stays gone for the test.
            await stint.driver.processDeregister({ backend: stint.backend, id: supervisor.workers[0].id });
            const report = await stint.health({ maxAge: "1h" });
            assert.equal(report.healthy, false);
            assert.match(report.reason!, new RegExp(`${supervisor.name}/worker-1`));
          },
        ));
    });

    describe("process registry: stopping", () => {
      test("a graceful stop heartbeats until its last outcome is written and its row is gone", () =>
        withStint(target, { tasks: [add], ...shortLived, allowRuntimeErrors: true }, async (stint) => {
          const { driver } = stint;
          const finish = driver.jobFinishMany.bind(driver);
          let failing = true;
          let refused = 0;
          // The outcome cannot be written for a while: the drain (the completer's flush) outlasts the threshold.
          driver.jobFinishMany = (p) => {
            if (!failing) return finish(p);
            refused++;
            return Promise.reject(new Error("finish refused (injected)"));
          };
          const supervisor = await stint.start({ mode: "async" });
          const worker = supervisor.workers[0];
          const { id } = await stint.enqueue(add, { a: 2, b: 3 });
          await waitFor("the outcome write to be refused", () => refused > 0, { timeout: 10_000 });
          const stopAt = Date.now();
          const stopping = supervisor.stop();
          const beatOf = async (runner: string) =>
            (await driver.processList({ backend: stint.backend })).find((p) => p.id === runner)?.lastHeartbeatAt
              .getTime() ?? 0;
          // Past processAliveThreshold into the drain, the rows are fresh still.
          await waitFor(
            "heartbeats past processAliveThreshold into the drain",
            async () => await beatOf(worker.id) > stopAt + 1600 && await beatOf(supervisor.id) > stopAt + 1600,
            {
              timeout: 15_000,
              interval: 50,
            },
          );
          assert.equal((await stint.getResult(id)).status, "running");
          failing = false;
          await stopping;
          assert.equal((await stint.getResult(id)).status, "succeeded");
          assert.deepEqual(await driver.processList({ backend: stint.backend }), [], "deregistered after the drain");
        }));

      test("health stays good while a supervisor drains (its runners that stopped first keep their rows)", () => {
        let open = () => {};
        const gate = new Promise<void>((resolve) => (open = resolve));
        const slow = defineTask("registry_slow", async () => await gate);
        return withStint(
          target,
          { tasks: [slow], ...shortLived, shutdownTimeout: "1s", processHeartbeatInterval: "1h", processAliveThreshold: "2h" },
          async (stint) => {
            const supervisor = await stint.start({ mode: "async" });
            const { id } = await stint.enqueue(slow, null);
            await waitForStatus(stint, id, "running", 10_000);
            const stopping = supervisor.stop();
            try {
              // The dispatcher has stopped; the worker still drains its job.
              await supervisor.dispatchers[0].stop();
              const report = await stint.health({ maxAge: "1h" });
              assert.equal(report.healthy, true, report.reason ?? "");
            } finally {
              open();
              await stopping;
            }
            assert.deepEqual(await stint.driver.processList({ backend: stint.backend }), [], "every row gone after the stop");
          },
        );
      });

      test("a shutdownTimeout that does not fit in processAliveThreshold is a ConfigError", () =>
        withDatabase(target, async (url) => {
          const refused = [
            { shutdownTimeout: "5m" },
            { shutdownTimeout: "4m", processHeartbeatInterval: "1m" },
            { shutdownTimeout: "1s", processHeartbeatInterval: "1s", processAliveThreshold: "2s" },
          ];
          for (const options of refused) {
            await assert.rejects(createStint({ url, backend: uniqueBackend(), ...options }), (error: unknown) => {
              assert.ok(error instanceof ConfigError, String(error));
              assert.match(error.message, /shutdownTimeout .*processHeartbeatInterval .*processAliveThreshold/);
              return true;
            }, JSON.stringify(options));
          }
          const fits = await createStint({ url, backend: uniqueBackend(), ...shortLived });
          await fits.close();
        }));
    });
  });
}
