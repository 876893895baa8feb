/**
 * Real child processes running test/fixtures/supervisor.ts under the runtime
 * that runs these tests, on one libSQL file shared with this process: kill -9
 * and recovery (by the alive threshold, and by pid on the same host), SIGTERM drain, SIGQUIT, the pidfile, two supervisors sharing
 * the work, and an embedded supervisor leaving signals alone.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Stint } from "../../mod.ts";
import { withStintAt } from "../support/harness.ts";
import { waitFor } from "../support/wait.ts";
import {
  assertAccounted,
  childEnv,
  exitOf,
  killChildren,
  results,
  scratch,
  startChild,
  statusCounts,
  TASKS_URL,
  waitForAll,
} from "./support.ts";

const T = { timeout: 60_000 };
/** Generous: the machine may be loaded; these are deadlines, not speed checks. */
const EXIT_MARGIN = 15_000;

const worker = { isolates: 2, concurrency: 4, pollingInterval: "50ms" };

after(killChildren);

/** A fresh libSQL file and a (non-running) Stint on it for enqueueing and inspecting. */
async function withQueue(fn: (stint: Stint, dir: string, url: string) => Promise<void>): Promise<void> {
  const { dir, url, remove } = scratch();
  try {
    await withStintAt(url, { tasks: TASKS_URL }, (stint) => fn(stint, dir, url));
  } finally {
    await killChildren();
    remove();
  }
}

function options(extra: Record<string, unknown> = {}) {
  return { workers: [worker], dispatchers: [{ pollingInterval: "100ms" }], ...extra };
}

/** Waits for the `<dir>/<id>.started` markers of sleepy jobs. */
function waitStarted(dir: string, ids: string[], timeout = 20_000) {
  return waitFor(`${ids.length} jobs to start`, () => ids.every((id) => existsSync(`${dir}/${id}.started`)), {
    timeout,
    interval: 25,
  });
}

describe("child process supervisors", () => {
  test(
    "a supervisor killed with kill -9 mid-run, then started again, leaves no job unaccounted for",
    T,
    () =>
      withQueue(async (stint, dir, url) => {
        const first = await startChild(childEnv(url, stint.backend, options({ processHeartbeatInterval: "500ms" })));
        // Four long jobs fill the four slots: two without retry, two with.
        const plain = await stint.enqueueAll([0, 1].map(() => ({ task: "sleepy", payload: { ms: 60_000, dir } })));
        const retried = await stint.enqueueAll(
          [0, 1].map(() => ({ task: "sleepy_retry", payload: { ms: 60_000, dir } })),
        );
        const running = [...plain, ...retried].map((h) => h.id);
        await waitStarted(dir, running);
        // These wait: every slot is taken.
        const waiting = await stint.enqueueAll([
          ...Array.from({ length: 6 }, (_, i) => ({ task: "add", payload: { a: i, b: 1 } })),
          { task: "sleepy_retry", payload: { ms: 10 } },
        ]);
        first.signal("SIGKILL");
        assert.deepEqual(await exitOf(first, EXIT_MARGIN), { code: null, signal: "SIGKILL" });
        assert.deepEqual(
          await statusCounts(stint, running),
          { running: 4 },
          "the killed supervisor's claims are left behind",
        );

        const second = await startChild(
          childEnv(url, stint.backend, options({ processHeartbeatInterval: "500ms", processAliveThreshold: "2s", shutdownTimeout: "1s" })),
        );
        const all = [...running, ...waiting.map((h) => h.id)];
        const done = await waitForAll(stint, all, ["succeeded", "failed"], 30_000);
        for (const r of done) assertAccounted(r, ["ProcessPrunedError", "ProcessMissingError"]);
        const byId = new Map(done.map((r) => [r.id, r]));
        for (const { id } of plain) assert.equal(byId.get(id)!.status, "failed", "a lost job without retry fails");
        for (const { id } of retried) {
          const r = byId.get(id)!;
          assert.deepEqual([r.status, r.attempts], ["succeeded", 2], "a lost job with retry runs again");
          assert.equal((r.returnValue as { pid: number }).pid, second.pid);
        }
        for (const { id } of waiting) assert.equal(byId.get(id)!.status, "succeeded");
        const rows = await stint.driver.processList({ backend: stint.backend });
        assert.ok(rows.length > 0 && rows.every((p) => p.pid === second.pid), "the dead supervisor's rows were pruned");

        second.signal("SIGTERM");
        assert.equal((await exitOf(second, EXIT_MARGIN)).code, 0);
        assert.deepEqual(
          await stint.driver.processList({ backend: stint.backend }),
          [],
          "a stopped supervisor deregisters",
        );
      }),
  );

  test(
    "a supervisor restarted on the same host recovers its kill -9'd predecessor's claims at start, without waiting for processAliveThreshold",
    T,
    () =>
      withQueue(async (stint, dir, url) => {
        // Defaults: a 60 s heartbeat and a 5 min alive threshold, so only the pid check can prune the rows.
        const first = await startChild(childEnv(url, stint.backend, options()));
        const [plain] = await stint.enqueueAll([{ task: "sleepy", payload: { ms: 60_000, dir } }]);
        const [retried] = await stint.enqueueAll([{ task: "sleepy_retry", payload: { ms: 60_000, dir } }]);
        await waitStarted(dir, [plain.id, retried.id]);
        first.signal("SIGKILL");
        await exitOf(first, EXIT_MARGIN);
        const ghosts = (await stint.driver.processList({ backend: stint.backend })).filter((p) => p.pid === first.pid);
        assert.ok(ghosts.length >= 2, "the killed supervisor left its rows behind");

        const second = await startChild(childEnv(url, stint.backend, options()));
        // "ready" is printed after start(), which resolves after the first maintenance pass.
        const rows = await stint.driver.processList({ backend: stint.backend });
        assert.ok(rows.length > 0 && rows.every((p) => p.pid === second.pid), "the dead supervisor's rows were pruned");
        const lost = await stint.getResult(plain.id);
        assert.deepEqual([lost.status, lost.error?.name], ["failed", "ProcessPrunedError"]);
        const again = await stint.getResult(retried.id);
        assert.notEqual(again.status, "failed");
        assert.deepEqual(again.errors.map((e) => e.name), ["ProcessPrunedError"], "a task with retry runs again");
        second.signal("SIGKILL");
      }),
  );

  test(
    "SIGTERM drains in-flight jobs, then the process exits 0 (without waiting out shutdownTimeout)",
    T,
    () =>
      withQueue(async (stint, dir, url) => {
        const child = await startChild(childEnv(url, stint.backend, options({ shutdownTimeout: "60s" })));
        const jobs = await stint.enqueueAll([0, 1, 2, 3].map(() => ({ task: "sleepy", payload: { ms: 2000, dir } })));
        const ids = jobs.map((h) => h.id);
        await waitStarted(dir, ids);
        const signalledAt = Date.now();
        child.signal("SIGTERM");
        // 2 s jobs, far below the 60 s shutdownTimeout: nothing (no leftover timer) keeps the process alive after the drain.
        const exit = await exitOf(child, EXIT_MARGIN);
        assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
        assert.match(child.stdout(), /^stopped$/m);
        for (const r of await results(stint, ids)) {
          assert.deepEqual([r.status, r.attempts], ["succeeded", 1]);
          assert.ok(r.finishedAt!.getTime() >= signalledAt - 50, "it was still running when SIGTERM arrived");
        }
        assert.deepEqual(await stint.driver.processList({ backend: stint.backend }), []);
      }),
  );

  test(
    "SIGTERM: a job longer than shutdownTimeout is aborted and goes back to ready, its attempt not counted",
    T,
    () =>
      withQueue(async (stint, dir, url) => {
        // The abort grace is long: its timer must not keep the stopped process alive either.
        const child = await startChild(
          childEnv(url, stint.backend, options({ shutdownTimeout: "1s", isolateAbortGrace: "60s" })),
        );
        const { id } = await stint.enqueue("sleepy", { ms: 60_000, dir });
        await waitStarted(dir, [id]);
        assert.equal((await stint.getResult(id)).attempts, 1);
        child.signal("SIGTERM");
        assert.deepEqual(await exitOf(child, 1000 + EXIT_MARGIN), { code: 0, signal: null }, child.stderr());
        const r = await stint.getResult(id);
        assert.deepEqual([r.status, r.attempts, r.error], ["ready", 0, null]);
        // The handler saw its signal abort (in its isolate) before the process left.
        assert.equal(readFileSync(`${dir}/${id}.aborted`, "utf8"), "ShutdownSignal");
      }),
  );

  test(
    "SIGQUIT exits at once, without waiting for running jobs, and puts them back to ready",
    T,
    () =>
      withQueue(async (stint, dir, url) => {
        const child = await startChild(childEnv(url, stint.backend, options({ shutdownTimeout: "60s" })));
        const jobs = await stint.enqueueAll([0, 1].map(() => ({ task: "sleepy", payload: { ms: 60_000, dir } })));
        const ids = jobs.map((h) => h.id);
        await waitStarted(dir, ids);
        child.signal("SIGQUIT");
        // Far below the 60 s that a graceful stop would wait.
        assert.deepEqual(await exitOf(child, EXIT_MARGIN), { code: 0, signal: null }, child.stderr());
        for (const r of await results(stint, ids)) assert.deepEqual([r.status, r.attempts], ["ready", 0]);
        assert.deepEqual(await stint.driver.processList({ backend: stint.backend }), []);
      }),
  );

  test(
    "a second supervisor with the same pidfile is refused; a stale or garbage pidfile is replaced; stop removes it",
    T,
    () =>
      withQueue(async (stint, dir, url) => {
        const pidfile = `${dir}/stint.pid`;
        const env = childEnv(url, stint.backend, options(), { STINT_TEST_PIDFILE: pidfile });
        const first = await startChild(env);
        assert.equal(readFileSync(pidfile, "utf8").trim(), String(first.pid));

        const refused = await startChild(env, { ready: false });
        const exit = await exitOf(refused, EXIT_MARGIN);
        assert.notEqual(exit.code, 0);
        assert.match(refused.stderr(), new RegExp(`another supervisor \\(pid ${first.pid}\\) holds`));
        assert.doesNotMatch(refused.stdout(), /ready/);
        assert.equal(readFileSync(pidfile, "utf8").trim(), String(first.pid), "the refused one left the file alone");
        const supervisors = (await stint.driver.processList({ backend: stint.backend })).filter((p) =>
          p.kind === "supervisor"
        );
        assert.deepEqual(supervisors.map((p) => p.pid), [first.pid], "the refused one registered nothing");

        first.signal("SIGTERM");
        assert.equal((await exitOf(first, EXIT_MARGIN)).code, 0);
        assert.equal(existsSync(pidfile), false, "the pidfile is removed on stop");

        for (const stale of [`${first.pid}\n`, "not a pid\n"]) {
          writeFileSync(pidfile, stale);
          const next = await startChild(env);
          assert.equal(readFileSync(pidfile, "utf8").trim(), String(next.pid), `replaced ${JSON.stringify(stale)}`);
          next.signal("SIGTERM");
          assert.equal((await exitOf(next, EXIT_MARGIN)).code, 0);
        }
      }),
  );

  test(
    "two supervisors sharing one database split the work and run each job once",
    T,
    () =>
      withQueue(async (stint, dir, url) => {
        const env = childEnv(url, stint.backend, options());
        const [a, b] = await Promise.all([startChild(env), startChild(env)]);
        const file = `${dir}/runs.txt`;
        const jobs = await stint.enqueueAll(
          Array.from({ length: 300 }, () => ({ task: "record", payload: { file, ms: 20 } })),
        );
        const ids = jobs.map((h) => h.id);
        const done = await waitForAll(stint, ids, ["succeeded", "failed"], 45_000);
        for (const r of done) assert.deepEqual([r.status, r.attempts], ["succeeded", 1], r.id);

        const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" "));
        const ran = lines.map(([id]) => id);
        assert.equal(ran.length, 300, "one execution per job");
        assert.deepEqual([...new Set(ran)].sort(), [...ids].sort());
        const pids = new Set(lines.map(([, pid]) => Number(pid)));
        assert.deepEqual([...pids].sort(), [a.pid, b.pid].sort(), "both supervisors ran jobs");

        a.signal("SIGTERM");
        b.signal("SIGTERM");
        assert.equal((await exitOf(a, EXIT_MARGIN)).code, 0);
        assert.equal((await exitOf(b, EXIT_MARGIN)).code, 0);
      }),
  );

  test(
    "an embedded supervisor (start() without standalone) leaves SIGTERM to the runtime",
    T,
    () =>
      withQueue(async (stint, _dir, url) => {
        const child = await startChild(childEnv(url, stint.backend, options(), { STINT_TEST_EMBEDDED: "1" }));
        child.signal("SIGTERM");
        // No handler: the runtime's default action ends the process, with no graceful stop.
        assert.deepEqual(await exitOf(child, EXIT_MARGIN), { code: null, signal: "SIGTERM" });
        assert.doesNotMatch(child.stdout(), /stopped/);
      }),
  );
});
