/**
 * The supervisor's process registry, in this process: stale processes are
 * pruned and their claims fail with ProcessPrunedError; claims with no process
 * fail with ProcessMissingError at start; tasks with retry run again; a runner
 * whose row was deleted registers again. Also hooks, health, and which signal
 * handlers a supervisor installs.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, type HookEvent, type Platform, type Stint } from "../../mod.ts";
import { detectPlatform } from "../../adapters/mod.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { type RuntimeErrorRecord, withStintAt } from "../support/harness.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";
import { scratch, TASKS_URL, waitForAll, workerModeOptions } from "./support.ts";

const T = { timeout: 45_000 };

/** Fast async-mode runtime options on the fixture tasks. */
const asyncOptions = {
  tasks: TASKS_URL,
  workers: [{ concurrency: 4, pollingInterval: "50ms" }],
  dispatchers: [{ pollingInterval: "100ms" }],
  shutdownTimeout: "1s",
  processHeartbeatInterval: "200ms",
};

async function withFresh(
  options: Record<string, unknown>,
  fn: (stint: Stint, runtimeErrors: RuntimeErrorRecord[]) => Promise<void>,
): Promise<void> {
  const { url, remove } = scratch();
  try {
    await withStintAt(url, options, fn);
  } finally {
    remove();
  }
}

/** Enqueues two jobs without retry and two with, and claims all four for a process that is not running them. */
async function claimedByGhost(stint: Stint, ghostId: string) {
  const plain = await stint.enqueueAll([{ task: "attempt", payload: null }, { task: "attempt", payload: null }]);
  const retried = await stint.enqueueAll([
    { task: "sleepy_retry", payload: { ms: 10 } },
    { task: "sleepy_retry", payload: { ms: 10 } },
  ]);
  assert.equal((await claim(stint, ghostId, ["*"], 10)).length, 4);
  for (const { id } of [...plain, ...retried]) assert.equal((await stint.getResult(id)).status, "running");
  return { plain: plain.map((h) => h.id), retried: retried.map((h) => h.id) };
}

async function assertRecovered(stint: Stint, jobs: { plain: string[]; retried: string[] }, errorName: string) {
  for (const r of await waitForAll(stint, jobs.plain, ["failed", "succeeded"])) {
    assert.equal(r.status, "failed");
    assert.equal(r.error?.name, errorName);
    assert.equal(r.attempts, 1);
  }
  for (const r of await waitForAll(stint, jobs.retried, ["failed", "succeeded"])) {
    assert.equal(r.status, "succeeded", `a task with retry runs again: ${JSON.stringify(r.errors)}`);
    assert.equal(r.attempts, 2);
    assert.deepEqual(r.errors.map((e) => [e.attempt, e.name]), [[1, errorName]]);
    assert.equal((r.returnValue as { attempt: number }).attempt, 2);
  }
}

describe("process registry: lost claims are failed", () => {
  test(
    "a process already stale at supervisor start is pruned before any runner claims",
    T,
    () =>
      withFresh({ ...asyncOptions, processAliveThreshold: "5s" }, async (stint) => {
        const ghost = crypto.randomUUID();
        await stint.driver.processRegister({
          backend: stint.backend,
          id: ghost,
          info: { kind: "worker", name: "ghost", pid: 1, hostname: "elsewhere", metadata: {}, supervisorId: null },
          now: new Date(Date.now() - 60_000),
        });
        const jobs = await claimedByGhost(stint, ghost);
        await stint.start({ mode: "async" });
        // start() resolves after the first maintenance pass: the plain jobs are failed already.
        for (const id of jobs.plain) assert.equal((await stint.getResult(id)).error?.name, "ProcessPrunedError");
        await assertRecovered(stint, jobs, "ProcessPrunedError");
        const rows = await stint.driver.processList({ backend: stint.backend });
        assert.ok(!rows.some((p) => p.id === ghost), "the stale process row is gone");
      }),
  );

  test(
    "a process that stops heartbeating while the supervisor runs is pruned",
    T,
    () =>
      withFresh({ ...asyncOptions, processAliveThreshold: "1500ms" }, async (stint) => {
        const ghost = await registerProcess(stint, "ghost");
        const jobs = await claimedByGhost(stint, ghost);
        await stint.start({ mode: "async" });
        await assertRecovered(stint, jobs, "ProcessPrunedError");
        const rows = await stint.driver.processList({ backend: stint.backend });
        assert.ok(!rows.some((p) => p.id === ghost), "the stale process row is gone");
        assert.ok(rows.some((p) => p.kind === "supervisor"), "the live supervisor was not pruned");
      }),
  );

  test(
    "claims with no process at supervisor start fail with ProcessMissingError",
    T,
    () =>
      withFresh({ ...asyncOptions, processAliveThreshold: "1h" }, async (stint) => {
        const ghost = await registerProcess(stint, "ghost");
        const jobs = await claimedByGhost(stint, ghost);
        await stint.driver.processDeregister({ backend: stint.backend, id: ghost });
        await stint.start({ mode: "async" });
        for (const id of jobs.plain) assert.equal((await stint.getResult(id)).error?.name, "ProcessMissingError");
        await assertRecovered(stint, jobs, "ProcessMissingError");
      }),
  );

  test(
    "a live process's claims are left alone",
    T,
    () =>
      withFresh({ ...asyncOptions, processAliveThreshold: "1h" }, async (stint) => {
        const other = await registerProcess(stint, "other-host-worker");
        const jobs = await claimedByGhost(stint, other);
        await stint.start({ mode: "async" });
        const probe = await stint.enqueue("add", { a: 1, b: 1 });
        await waitForStatus(stint, probe.id, "succeeded", 10_000);
        for (const id of [...jobs.plain, ...jobs.retried]) assert.equal((await stint.getResult(id)).status, "running");
      }),
  );
});

describe("process registry: a runner whose row was deleted registers again", () => {
  test(
    "a worker or supervisor whose row is deleted registers again under the same id and does not stop",
    T,
    () =>
      withFresh(asyncOptions, async (stint) => {
        const stops: HookEvent[] = [];
        stint.on("worker.stop", (e) => void stops.push(e));
        stint.on("supervisor.stop", (e) => void stops.push(e));
        const supervisor = await stint.start({ mode: "async" });
        const worker = supervisor.workers[0];
        const ids = async () => (await stint.driver.processList({ backend: stint.backend })).map((p) => p.id);
        await stint.driver.processDeregister({ backend: stint.backend, id: worker.id });
        await waitFor("the worker to register again", async () => (await ids()).includes(worker.id), { timeout: 10_000 });
        await stint.driver.processDeregister({ backend: stint.backend, id: supervisor.id });
        await waitFor("the supervisor to register again", async () => (await ids()).includes(supervisor.id), {
          timeout: 10_000,
        });
        assert.deepEqual(stops, [], "nothing stopped");
        const probe = await stint.enqueue("add", { a: 1, b: 1 });
        await waitForStatus(stint, probe.id, "succeeded", 10_000);
        await supervisor.stop();
        assert.deepEqual(await ids(), [], "every runner deregistered");
      }),
  );
});

describe("lifecycle hooks", () => {
  test("hooks fire in registration order; a failing hook does not block the next and goes to onRuntimeError", T, () => {
    const { url, remove } = scratch();
    const log: string[] = [];
    return withStintAt(url, { ...workerModeOptions(), allowRuntimeErrors: true }, async (stint, runtimeErrors) => {
      const fail = (what: string) => () => {
        log.push(`${what}!`);
        throw new Error(`${what} failed on purpose`);
      };
      stint.on("supervisor.start", (e) => void log.push(`supervisor.start 1 ${e.processName}`));
      stint.on("supervisor.*", fail("supervisor.* 2"));
      stint.on("supervisor.start", () => void log.push("supervisor.start 3"));
      stint.on("worker.*", async (e) => {
        await new Promise((resolve) => setTimeout(resolve, 20)); // async hooks are awaited, in order
        log.push(`worker.* 1 ${e.name}`);
      });
      stint.on("worker.start", async () => {
        log.push("worker.start 2!");
        await Promise.reject(new Error("rejected on purpose"));
      });
      stint.on("worker.*", (e) => void log.push(`worker.* 3 ${e.name}`));
      stint.on("worker.exit", fail("worker.exit 4"));
      stint.on("worker.exit", (e) => void log.push(`worker.exit 5 ${(e.error as Error).name}`));
      stint.on("dispatcher.start", (e) => void log.push(`dispatcher.start ${e.processName}`));
      stint.on("dispatcher.stop", (e) => void log.push(`dispatcher.stop ${e.processName}`));
      const removed = stint.on("supervisor.stop", () => void log.push("removed hook ran"));
      removed();
      stint.on("supervisor.stop", () => void log.push("supervisor.stop 4"));

      const supervisor = await stint.start({ mode: "worker" });
      assert.deepEqual(log.splice(0), [
        `supervisor.start 1 ${supervisor.name}`,
        "supervisor.* 2!",
        "supervisor.start 3",
        "worker.* 1 worker.start",
        "worker.start 2!",
        "worker.* 3 worker.start",
        "dispatcher.start dispatcher-1",
      ]);

      const { id } = await stint.enqueue("crasher", { how: "throw" });
      await waitForStatus(stint, id, "failed", 20_000);
      await waitFor("the worker.exit hooks", () => log.includes("worker.exit 5 ProcessExitError"), { timeout: 10_000 });
      assert.deepEqual(log.splice(0), [
        "worker.* 1 worker.exit",
        "worker.* 3 worker.exit",
        "worker.exit 4!",
        "worker.exit 5 ProcessExitError",
      ]);

      await supervisor.stop();
      const stopped = log.splice(0);
      // Runners stop together; the supervisor's own hooks come last.
      assert.deepEqual(stopped.filter((l) => l.startsWith("worker")), [
        "worker.* 1 worker.stop",
        "worker.* 3 worker.stop",
      ]);
      assert.ok(stopped.includes("dispatcher.stop dispatcher-1"));
      assert.deepEqual(stopped.slice(-2), ["supervisor.* 2!", "supervisor.stop 4"]);

      const hookErrors = runtimeErrors.filter((e) => e.context.operation.startsWith("hook "));
      assert.deepEqual(hookErrors.map((e) => [e.context.operation, (e.error as Error).message]), [
        ["hook supervisor.*", "supervisor.* 2 failed on purpose"],
        ["hook worker.start", "rejected on purpose"],
        ["hook worker.exit", "worker.exit 4 failed on purpose"],
        ["hook supervisor.*", "supervisor.* 2 failed on purpose"],
      ]);
      assert.throws(() => stint.on("worker.begin" as never, () => {}), ConfigError);
    }).finally(remove);
  });
});

describe("health", () => {
  test(
    "healthy while running; unhealthy with a reason when heartbeats are stale or no supervisor exists",
    T,
    () =>
      withFresh(asyncOptions, async (stint) => {
        const none = await stint.health({ maxAge: "10s" });
        assert.equal(none.healthy, false);
        assert.match(none.reason!, /no supervisor is registered/);

        const supervisor = await stint.start({ mode: "async" });
        const ok = await stint.health({ maxAge: "10s" });
        const runners = (await stint.driver.processList({ backend: stint.backend })).filter((p) =>
          p.supervisorId === supervisor.id
        );
        assert.ok(runners.length >= 2, "a worker and a dispatcher at least");
        assert.deepEqual([ok.healthy, ok.reason, ok.supervisors, ok.runners], [true, null, 1, runners.length]);

        // A runner of the live supervisor that stopped heartbeating.
        await stint.driver.processRegister({
          backend: stint.backend,
          id: crypto.randomUUID(),
          info: {
            kind: "worker",
            name: "stuck-worker",
            pid: null,
            hostname: null,
            metadata: {},
            supervisorId: supervisor.id,
          },
          now: new Date(Date.now() - 60_000),
        });
        const stale = await stint.health({ maxAge: "10s" });
        assert.equal(stale.healthy, false);
        assert.match(stale.reason!, /stale runners: stuck-worker \(\d+ ms since its heartbeat\)/);
        await supervisor.stop();

        const gone = await stint.health({ maxAge: "10s" });
        assert.equal(gone.healthy, false);
        assert.match(gone.reason!, /no supervisor is registered/);

        for (const maxAge of [0, "0ms", -1]) {
          await assert.rejects(stint.health({ maxAge }), ConfigError, `maxAge ${maxAge}`);
        }
      }),
  );

  test(
    "a supervisor whose heartbeats are older than maxAge is unhealthy",
    T,
    () =>
      withFresh({ ...asyncOptions, processHeartbeatInterval: "1h", processAliveThreshold: "2h" }, async (stint) => {
        await stint.start({ mode: "async" });
        assert.equal((await stint.health({ maxAge: "1h" })).healthy, true);
        const report = await waitFor("the registration heartbeat to age past 300 ms", async () => {
          const r = await stint.health({ maxAge: "300ms" });
          return r.healthy ? null : r;
        }, { timeout: 10_000, interval: 50 });
        assert.match(
          report.reason!,
          /no supervisor heartbeated in the last 300 ms \(the newest heartbeat is \d+ ms old\)/,
        );
        assert.equal(report.supervisors, 0);
      }),
  );
});

describe("signals", () => {
  /** The real platform, except that signal handlers are recorded instead of installed. */
  async function recordingPlatform() {
    const real = await detectPlatform();
    const installed: string[] = [];
    const removed: string[] = [];
    const platform: Platform = {
      ...real,
      pid: real.pid,
      onSignal(signal) {
        installed.push(signal);
        return () => void removed.push(signal);
      },
    };
    return { platform, installed, removed };
  }

  test(
    "an embedded supervisor installs no signal handlers; a standalone one owns SIGTERM, SIGINT, SIGQUIT until it stops",
    T,
    async () => {
      const { platform, installed, removed } = await recordingPlatform();
      await withFresh({ ...asyncOptions, platform }, async (stint) => {
        const embedded = await stint.start({ mode: "async" });
        assert.deepEqual(installed, []);
        await embedded.stop();
        assert.deepEqual(installed, []);

        const standalone = await stint.start({ mode: "async", standalone: true });
        assert.deepEqual(installed.sort(), ["SIGINT", "SIGQUIT", "SIGTERM"]);
        assert.deepEqual(removed, []);
        await standalone.stop();
        assert.deepEqual(removed.sort(), ["SIGINT", "SIGQUIT", "SIGTERM"]);
      });
    },
  );
});
