/**
 * `delivery: "at-most-once"` with real processes and isolates (DESIGN §11;
 * the in-process contract is test/contract/at-most-once.test.ts):
 *
 * - on every database, 500 at-most-once jobs (with retry) under kill -9 of
 *   child supervisors, each run counted in a side table of the test's own
 *   database as it starts: every job ends succeeded or failed (with the
 *   recovery's error, never retried), and no job ran twice;
 * - worker mode: an isolate dying with an at-most-once job inside fails it
 *   (ProcessExitError, no retry); a stop fails the job an isolate runs
 *   (JobInterruptedError) and hands back the one it never started.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stint } from "../../mod.ts";
import { scenarioTargets, type Target, targets } from "../support/targets.ts";
import { uniqueName, withDatabase, withStintAt } from "../support/harness.ts";
import { type RawDb, withRaw } from "../support/raw.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";
import type { Counted } from "../fixtures/tasks-amo.ts";
import { childEnv, exitOf, killChildren, scratch, startChild, workerModeOptions } from "./support.ts";

const TASKS_AMO_URL = new URL("../fixtures/tasks-amo.ts", import.meta.url);
const JOBS = 500;
const EXIT_MARGIN = 15_000;

after(killChildren);

/** What enqueueing an at-most-once task stores (NewJob.delivery): every such job has it. */
async function storeAtMostOnce(raw: RawDb, stint: Stint): Promise<void> {
  const rows = await raw.rows(
    `SELECT COUNT(*) AS n FROM stint_jobs WHERE backend = ? AND task IN ('amo_counted', 'amo_crashes')
     AND (delivery IS NULL OR delivery <> 'at-most-once')`,
    [stint.backend],
  );
  assert.equal(Number(rows[0].n), 0, "enqueue stored the task's delivery");
}

async function createRunsTable(raw: RawDb): Promise<string> {
  const table = uniqueName("amo_runs");
  await raw.run(`CREATE TABLE ${table} (job_id VARCHAR(64) NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL)`);
  return table;
}

async function runsOf(raw: RawDb, table: string): Promise<Map<string, number>> {
  const rows = await raw.rows(`SELECT job_id, COUNT(*) AS n FROM ${table} GROUP BY job_id`);
  return new Map(rows.map((r) => [String(r.job_id), Number(r.n)]));
}

async function countRuns(raw: RawDb, table: string): Promise<number> {
  return Number((await raw.rows(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
}

/** Every job of the backend: its status, attempts and the names of its attempts' errors. */
async function outcomes(raw: RawDb, stint: Stint) {
  const jobs = await raw.rows(
    `SELECT j.id, j.status, j.attempts, c.job_id AS claimed FROM stint_jobs j
     LEFT JOIN stint_claimed_executions c ON c.job_id = j.id WHERE j.backend = ?`,
    [stint.backend],
  );
  const errors = await raw.rows(`SELECT job_id, error_name FROM stint_job_errors WHERE backend = ? ORDER BY id`, [stint.backend]);
  const names = new Map<string, string[]>();
  for (const e of errors) names.set(String(e.job_id), [...names.get(String(e.job_id)) ?? [], String(e.error_name)]);
  return jobs.map((j) => ({
    id: String(j.id),
    status: j.claimed === null || j.claimed === undefined ? String(j.status) : "running",
    attempts: Number(j.attempts),
    errors: names.get(String(j.id)) ?? [],
  }));
}

function childOptions(extra: Record<string, unknown> = {}) {
  return {
    tasks: TASKS_AMO_URL.href,
    workers: [{ concurrency: 16, prefetch: 8, pollingInterval: "50ms" }],
    dispatchers: [{ pollingInterval: "100ms" }],
    processHeartbeatInterval: "500ms",
    shutdownTimeout: "1s",
    preserveFinishedJobs: true,
    ...extra,
  };
}

for (const target of scenarioTargets(targets, "narrow")) {
  describe(target.name, { skip: target.skip }, () => {
    test(
      `${JOBS} at-most-once jobs under kill -9 of supervisors: each ends succeeded or failed, none runs twice`,
      { timeout: 180_000 },
      () => killNineRun(target),
    );
  });
}

async function killNineRun(target: Target): Promise<void> {
  await withDatabase(target, (url) =>
    withStintAt(url, { tasks: TASKS_AMO_URL }, (stint) =>
      withRaw(target, url, async (raw) => {
        const table = await createRunsTable(raw);
        try {
          const payload: Counted = { url, table, ms: 40 };
          const ids = (await stint.enqueueAll(Array.from({ length: JOBS }, () => ({ task: "amo_counted", payload }))))
            .map((h) => h.id);
          await storeAtMostOnce(raw, stint);
          const env = { ...childEnv(url, stint.backend, childOptions()), STINT_TEST_MODE: "async" };

          // Two supervisors killed mid-run, each once a share of the jobs has started; the third finishes.
          for (const share of [0.25, 0.5]) {
            const child = await startChild(env);
            await waitFor(`${share * JOBS} runs`, async () => await countRuns(raw, table) >= share * JOBS, {
              timeout: 60_000,
              interval: 25,
            });
            child.signal("SIGKILL");
            assert.deepEqual(await exitOf(child, EXIT_MARGIN), { code: null, signal: "SIGKILL" });
          }
          // A restarted supervisor on this host recovers its dead predecessors' claims at start (by pid).
          const last = await startChild(env);
          let ended: Awaited<ReturnType<typeof outcomes>> = [];
          await waitFor(`${JOBS} jobs to end`, async () => {
            ended = await outcomes(raw, stint);
            return ended.every((j) => j.status === "succeeded" || j.status === "failed");
          }, { timeout: 90_000, interval: 200 });
          last.signal("SIGTERM");
          assert.equal((await exitOf(last, EXIT_MARGIN)).code, 0, last.stderr());

          assert.equal(ended.length, JOBS);
          const runs = await runsOf(raw, table);
          const twice = [...runs].filter(([, n]) => n > 1);
          assert.deepEqual(twice, [], "no at-most-once job ran twice");
          let failed = 0;
          for (const j of ended) {
            const where = JSON.stringify(j);
            assert.equal(j.attempts, 1, `never a second attempt: ${where}`);
            if (j.status === "succeeded") {
              assert.deepEqual(j.errors, [], where);
              assert.equal(runs.get(j.id), 1, `a succeeded job ran once: ${where}`);
            } else {
              failed++;
              assert.equal(j.errors.length, 1, where);
              assert.ok(["ProcessPrunedError", "ProcessMissingError"].includes(j.errors[0]), where);
            }
          }
          assert.ok(failed > 0, "the kills interrupted some jobs");
          assert.deepEqual([...runs.keys()].filter((id) => !ids.includes(id)), []);
        } finally {
          await raw.run(`DROP TABLE ${table}`);
        }
      })));
}

describe("worker mode", () => {
  /** A worker-mode Stint on a fresh libSQL file, with a side table for the runs. */
  async function withIsolates(
    overrides: Record<string, unknown>,
    fn: (stint: Stint, raw: RawDb, payload: Counted) => Promise<void>,
  ): Promise<void> {
    const { url, remove } = scratch();
    const libsql = targets.find((t) => t.name === "libsql")!;
    try {
      const options = { ...workerModeOptions(overrides), tasks: TASKS_AMO_URL, allowRuntimeErrors: true };
      await withStintAt(url, options, (stint) =>
        withRaw(libsql, url, async (raw) => fn(stint, raw, { url, table: await createRunsTable(raw), ms: 60_000 })));
    } finally {
      remove();
    }
  }

  test("an isolate that dies with an at-most-once job inside fails it with ProcessExitError, not retried", { timeout: 45_000 }, () =>
    withIsolates({}, async (stint, raw, payload) => {
      const { id } = await stint.enqueue("amo_crashes", payload);
      await storeAtMostOnce(raw, stint);
      await stint.start({ mode: "worker" });
      const r = await waitForStatus(stint, id, "failed", 20_000);
      assert.deepEqual([r.attempts, r.errors.map((e) => e.name)], [1, ["ProcessExitError"]]);
      assert.deepEqual([...(await runsOf(raw, payload.table)).values()], [1]);
    }));

  test(
    "a stop fails the at-most-once job an isolate runs (JobInterruptedError) and hands back the one it never started",
    { timeout: 45_000 },
    () =>
      withIsolates({
        workers: [{ isolates: 1, concurrency: 2, pollingInterval: "50ms" }],
        shutdownTimeout: "100ms",
        isolateWatchdogTimeout: "30s", // the spinning handler must not be taken for a hung isolate
      }, async (stint, raw, payload) => {
        // The first job holds the isolate's thread once counted, so the second waits in its message queue.
        const running = await stint.enqueue("amo_counted", { ...payload, spinMs: 6000 });
        await storeAtMostOnce(raw, stint);
        const supervisor = await stint.start({ mode: "worker" });
        await waitFor("the first job to run", async () => await countRuns(raw, payload.table) === 1);
        // Delayed, so that its delivery is stored before any claim (see storeAtMostOnce).
        const waiting = await stint.enqueue("amo_counted", payload, { delay: "1s" });
        await storeAtMostOnce(raw, stint);
        await waitForStatus(stint, waiting.id, "running", 10_000);
        await supervisor.stop();
        const interrupted = await stint.getResult(running.id);
        assert.deepEqual([interrupted.status, interrupted.attempts, interrupted.error?.name], [
          "failed",
          1,
          "JobInterruptedError",
        ]);
        const back = await stint.getResult(waiting.id);
        assert.deepEqual([back.status, back.attempts, back.errors], ["ready", 0, []], "never started: back to ready");
        assert.deepEqual([...(await runsOf(raw, payload.table)).keys()], [running.id]);
      }),
  );
});
