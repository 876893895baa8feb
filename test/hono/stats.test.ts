/** GET stats.json and GET /metrics reflect what is in the database (libsql). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, type Stint } from "../../mod.ts";
import type { QueueStats, Stats } from "../../src/stats.ts";
import { fastRuntime, withStint } from "../support/harness.ts";
import { claim, failQueue, registerProcess } from "../support/driver.ts";
import { waitingParent } from "../support/rows.ts";
import { waitFor } from "../support/wait.ts";
import { libsql, mount, parsePrometheus, sample } from "./support.ts";

const tick = defineTask("tick", () => null);
const limited = defineTask("limited", (_: { k: string }) => null, { concurrency: { key: "lim:{k}", limit: 1 } });
const WEIRD = 'we"ird\\q\nx'; // every character a Prometheus label value must escape

/** One queue per situation; returns nothing, the tests know the shape. */
async function seed(stint: Stint): Promise<void> {
  await stint.enqueue(tick, null, { queue: "alpha" });
  await stint.enqueue(tick, null, { queue: "alpha" });
  await stint.enqueue(tick, null, { queue: "alpha", delay: "1h" });
  await stint.enqueue(tick, null, { queue: "beta" });
  assert.equal((await failQueue(stint, "beta")).length, 1);
  await stint.enqueue(tick, null, { queue: "gamma" });
  await stint.queue("gamma").pause();
  await stint.enqueue(tick, null, { queue: "delta", runAt: new Date(Date.now() + 7_200_000) });
  await stint.enqueue(tick, null, { queue: "eps" });
  assert.equal((await claim(stint, await registerProcess(stint), ["eps"], 1)).length, 1);
  await stint.enqueue(limited, { k: "one" }, { queue: "lim" });
  assert.equal((await stint.enqueue(limited, { k: "one" }, { queue: "lim" })).status, "blocked");
  await stint.enqueue(tick, null, { queue: WEIRD });
  // A parent waiting in ctx.join for its child, scheduled an hour ahead in the same queue.
  await waitingParent(stint, "wq");
  await stint.schedule({ key: "nightly", task: tick, cron: "0 3 * * *" });
  // A worker whose heartbeat is long past: stale.
  await stint.driver.processRegister({
    backend: stint.backend,
    id: crypto.randomUUID(),
    info: { kind: "worker", name: "old", pid: 1, hostname: "h", metadata: { queues: ["*"] }, supervisorId: null },
    now: new Date(Date.now() - 3_600_000),
  });
}

const OPTIONS = { tasks: [tick, limited], scheduler: { dynamicTasks: true } };

describe("hono stats", { skip: libsql.skip }, () => {
  test("stats.json: counts per queue and state, paused, latency, next scheduled, processes, recurring, semaphores", () =>
    withStint(libsql, OPTIONS, async (stint) => {
      await seed(stint);
      const m = mount(stint);
      const response = await m.get("/stats.json");
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      const stats = (await response.json()) as Stats;
      assert.equal(stats.backend, stint.backend);
      const counts = (q: QueueStats) => [q.ready, q.scheduled, q.blocked, q.running, q.waiting, q.failed, q.paused];
      const byName = new Map(stats.queues.map((q) => [q.name, q]));
      assert.deepEqual(stats.queues.map((q) => q.name), ["alpha", "beta", "delta", "eps", "gamma", "lim", WEIRD, "wq"]);
      assert.deepEqual(counts(byName.get("alpha")!), [2, 1, 0, 0, 0, 0, false]);
      assert.deepEqual(counts(byName.get("beta")!), [0, 0, 0, 0, 0, 1, false]);
      assert.deepEqual(counts(byName.get("gamma")!), [1, 0, 0, 0, 0, 0, true]);
      assert.deepEqual(counts(byName.get("delta")!), [0, 1, 0, 0, 0, 0, false]);
      assert.deepEqual(counts(byName.get("eps")!), [0, 0, 0, 1, 0, 0, false]);
      assert.deepEqual(counts(byName.get("lim")!), [1, 0, 1, 0, 0, 0, false]);
      assert.deepEqual(counts(byName.get("wq")!), [0, 1, 0, 0, 1, 0, false], "the waiting parent and its child");
      assert.deepEqual(stats.totals, { ready: 5, scheduled: 3, blocked: 1, running: 1, waiting: 1, failed: 1 });

      const alpha = byName.get("alpha")!;
      assert.ok(typeof alpha.latency === "number" && alpha.latency >= 0 && alpha.latency < 60, String(alpha.latency));
      assert.equal(byName.get("gamma")!.latency, null, "paused: no latency");
      for (const name of ["beta", "delta", "eps", "wq"]) {
        assert.equal(byName.get(name)!.latency, null, `${name} has no ready job`);
      }
      const next = Date.parse(byName.get("delta")!.nextScheduledAt!);
      assert.ok(Math.abs(next - (Date.now() + 7_200_000)) < 60_000, byName.get("delta")!.nextScheduledAt!);
      assert.equal(byName.get("beta")!.nextScheduledAt, null);
      const overview = await m.html("/");
      assert.ok(overview.includes(`<a href="/stint/jobs?status=waiting&amp;queue=wq">1</a>`), "the queue table counts waiting");
      assert.ok(overview.includes(`<a href="/stint/jobs?status=waiting">waiting 1</a>`), "so do the totals");

      assert.deepEqual(stats.processCounts.byKind, { worker: { live: 3, stale: 1 } });
      assert.deepEqual([stats.processCounts.live, stats.processCounts.stale], [3, 1]);
      assert.equal(stats.processes.find((p) => p.name === "old")?.status, "stale");
      assert.equal(byName.get("alpha")!.liveWorkers, 0, "the stale worker selecting * is not live");

      assert.equal(stats.recurring.length, 1);
      const [nightly] = stats.recurring;
      assert.deepEqual([nightly.key, nightly.task, nightly.cron, nightly.static, nightly.lastRunAt], [
        "nightly",
        "tick",
        "0 3 * * *",
        false,
        null,
      ]);
      assert.match(nightly.nextRunAt ?? "", /T03:00:00\.000Z$/);
      const semaphore = stats.semaphores.find((s) => s.key === "lim:one");
      assert.deepEqual(semaphore && [semaphore.value, semaphore.limit, semaphore.waiters], [0, 1, 1]);
    }));

  test("/metrics is Prometheus text with every gauge and its labels", () =>
    withStint(libsql, OPTIONS, async (stint) => {
      await seed(stint);
      const m = mount(stint);
      const response = await m.get("/metrics");
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const { samples, types, help } = parsePrometheus(await response.text());
      const gauges = [
        "stint_queue_jobs",
        "stint_queue_paused",
        "stint_queue_latency_seconds",
        "stint_queue_live_workers",
        "stint_runner_processes",
        "stint_runner_processes_by_kind",
        "stint_recurring_tasks",
        "stint_semaphores",
        "stint_process_rows",
        "stint_failed_jobs",
      ];
      for (const name of gauges) {
        assert.equal(types.get(name), "gauge", name);
        assert.ok(help.get(name), `${name} has HELP`);
      }
      assert.deepEqual([...types.keys()].sort(), [...gauges].sort());
      for (const s of samples) assert.equal(s.labels.backend, stint.backend, `${s.name} carries the backend label`);

      const b = { backend: stint.backend };
      const jobs = (queue: string, state: string) => sample(samples, "stint_queue_jobs", { ...b, queue, state });
      const states = ["ready", "scheduled", "blocked", "running", "waiting", "failed"];
      assert.deepEqual(states.map((s) => jobs("alpha", s)), [2, 1, 0, 0, 0, 0]);
      assert.deepEqual(states.map((s) => jobs("lim", s)), [1, 0, 1, 0, 0, 0]);
      assert.deepEqual(states.map((s) => jobs("wq", s)), [0, 1, 0, 0, 1, 0]);
      assert.equal(jobs("beta", "failed"), 1);
      assert.equal(jobs("eps", "running"), 1);
      assert.equal(jobs(WEIRD, "ready"), 1, "label values round-trip through escaping");
      assert.equal(samples.filter((s) => s.name === "stint_queue_jobs").length, 8 * 6);
      assert.equal(sample(samples, "stint_queue_paused", { ...b, queue: "gamma" }), 1);
      assert.equal(sample(samples, "stint_queue_paused", { ...b, queue: "alpha" }), 0);
      assert.deepEqual(
        samples.filter((s) => s.name === "stint_queue_latency_seconds").map((s) => s.labels.queue).sort(),
        ["alpha", "lim", WEIRD].sort(),
        "latency only for queues with ready jobs that are not paused",
      );
      assert.ok(sample(samples, "stint_queue_latency_seconds", { ...b, queue: "alpha" }) >= 0);
      assert.equal(sample(samples, "stint_queue_live_workers", { ...b, queue: "alpha" }), 0);
      assert.equal(sample(samples, "stint_runner_processes", { ...b, status: "live" }), 3);
      assert.equal(sample(samples, "stint_runner_processes", { ...b, status: "stale" }), 1);
      assert.equal(sample(samples, "stint_runner_processes_by_kind", { ...b, kind: "worker", status: "stale" }), 1);
      assert.equal(sample(samples, "stint_recurring_tasks", b), 1);
      assert.equal(sample(samples, "stint_semaphores", b), 1);
      assert.equal(sample(samples, "stint_process_rows", b), 4);
      assert.equal(sample(samples, "stint_failed_jobs", b), 1);
    }));

  test("live workers per queue while a runtime runs, and none after it stops", () =>
    withStint(libsql, { tasks: [tick], ...fastRuntime({ queues: ["w1"] }) }, async (stint) => {
      await stint.enqueue(tick, null, { queue: "w1", delay: "1h" });
      await stint.enqueue(tick, null, { queue: "other", delay: "1h" });
      const m = mount(stint);
      const stats = async () => (await (await m.get("/stats.json")).json()) as Stats;
      const supervisor = await stint.start({ mode: "async" });
      const live = await waitFor("a live worker on w1", async () => {
        const s = await stats();
        return s.queues.find((q) => q.name === "w1")?.liveWorkers === 1 ? s : null;
      });
      assert.equal(live.queues.find((q) => q.name === "other")?.liveWorkers, 0);
      assert.equal(live.processCounts.byKind.worker?.live, 1);
      assert.equal(live.processCounts.byKind.supervisor?.live, 1);
      const { samples } = parsePrometheus(await (await m.get("/metrics")).text());
      assert.equal(sample(samples, "stint_queue_live_workers", { queue: "w1" }), 1);
      assert.equal(sample(samples, "stint_runner_processes_by_kind", { kind: "worker", status: "live" }), 1);
      assert.match(await m.html("/"), /<span class="live">live<\/span>/);
      await supervisor.stop();
      const after = await stats();
      assert.equal(after.queues.find((q) => q.name === "w1")?.liveWorkers, 0);
      assert.equal(after.processes.length, 0, "a stopped runtime deregisters its processes");
    }));
});
