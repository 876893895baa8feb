/**
 * `transactional: true` (DESIGN §11) against every target, in async mode: the
 * handler's writes through ctx.tx commit with the job's success; a throw, a
 * timeout or a lost claim rolls them back; ctx.tx refuses use outside its
 * transaction; worker mode refuses transactional tasks. And under repeated
 * kill -9 of child supervisors (test/fixtures/tx-supervisor.ts), every
 * succeeded job has exactly one ledger row and no failed job has one.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import {
  ConfigError,
  createStint,
  defineTask,
  JobNotFoundError,
  type JobStatus,
  type Stint,
  type TaskContext,
  TransactionError,
} from "../../mod.ts";
import { ledger, ledgerInsert } from "../fixtures/tasks-tx.ts";
import { fastRuntime, type TestOptions, uniqueBackend, withDatabase, withStintAt } from "../support/harness.ts";
import { scenarioTargets, type Target, targetsWithEngine } from "../support/targets.ts";
import { withRaw } from "../support/raw.ts";
import { waitFor } from "../support/wait.ts";

const T = { timeout: 60_000 };
const TASKS_URL = new URL("../fixtures/tasks-tx.ts", import.meta.url);
const CHILD = new URL("../fixtures/tx-supervisor.ts", import.meta.url).pathname;

/** What the tasks below saw, for the test to look at after the job ended. */
const seen = {
  late: [] as unknown[],
  kept: null as null | { ctx: TaskContext; tx: unknown; method: () => unknown },
  stint: null as Stint | null,
  enqueued: [] as string[],
};

const failing = defineTask<{ table: string }>("tx_failing", async (p, ctx) => {
  await ledgerInsert(ctx, p.table);
  if (ctx.attempt === 1) throw new Error("first attempt fails after its insert");
  return "second";
}, { transactional: true, retry: { attempts: 2, backoff: "10ms" } });

const slow = defineTask<{ table: string }>("tx_slow", async (p, ctx) => {
  const tx = ctx.tx;
  await ledgerInsert(ctx, p.table);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  // The timeout rolled the transaction back meanwhile: ctx.tx, and the object read before, refuse.
  for (const use of [() => ctx.tx, () => (typeof tx === "function" ? tx("SELECT 1") : tx.execute)]) {
    try {
      use();
      seen.late.push("no error");
    } catch (error) {
      seen.late.push(error);
    }
  }
}, { transactional: true, timeout: "200ms" });

const keeper = defineTask<{ table: string }>("tx_keeper", async (p, ctx) => {
  await ledgerInsert(ctx, p.table);
  const tx = ctx.tx;
  const method = typeof tx === "function" ? tx.unsafe : typeof tx.batch === "function" ? tx.execute : tx.query;
  seen.kept = { ctx, tx, method };
  let commit = "no error";
  try {
    await tx.commit();
  } catch (error) {
    commit = (error as Error).name;
  }
  return { commit };
}, { transactional: true });

const plain = defineTask("tx_plain", (_p: unknown, ctx: TaskContext) => {
  try {
    ctx.tx;
    return "no error";
  } catch (error) {
    return (error as Error).name;
  }
});

/** Deletes its own claim through ctx.tx: the finish in the same transaction then applies nothing. */
const loser = defineTask<{ table: string }>("tx_loser", async (p, ctx) => {
  await ledgerInsert(ctx, p.table);
  const sql = "DELETE FROM stint_claimed_executions WHERE job_id = ?";
  const tx = ctx.tx;
  if (typeof tx === "function") await tx.unsafe(sql.replace("?", "$1"), [ctx.jobId]);
  else if (typeof tx.batch === "function") await tx.execute({ sql, args: [ctx.jobId] });
  else await tx.query(sql, [ctx.jobId]);
}, { transactional: true });

/** Enqueues a plain job inside ctx.tx (the instance is the test's), then fails on its first attempt. */
const enqueuer = defineTask<{ fail: boolean }>("tx_enqueuer", async (p, ctx) => {
  const { id } = await seen.stint!.enqueue(plain, null, { tx: ctx.tx });
  seen.enqueued.push(id);
  if (p.fail && ctx.attempt === 1) throw new Error("rolls the enqueue back");
  return id;
}, { transactional: true, retry: { attempts: 2, backoff: "10ms" } });

/** Durable calls in a transactional task: each refused with a TransactionError, nothing stored. */
const durable = defineTask("tx_durable", async (_p: unknown, ctx: TaskContext) => {
  const names: string[] = [];
  for (const call of [() => ctx.step("s", () => 1), () => ctx.sleep("n", "1s"), () => ctx.spawn("c", "tx_plain")]) {
    await call().then(() => names.push("ran"), (error: Error) => names.push(error.name));
  }
  return names;
}, { transactional: true });

const TASKS = [ledger, failing, slow, keeper, plain, loser, enqueuer, durable];

function ledgerTable(): string {
  return `tx_ledger_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** A ledger table on `url` for `fn`, dropped afterwards; `rows()` reads it. */
async function withLedger(
  target: Target,
  url: string,
  fn: (table: string, rows: () => Promise<Array<{ jobId: string; attempt: number }>>) => Promise<void>,
): Promise<void> {
  const table = ledgerTable();
  await withRaw(
    target,
    url,
    (raw) => raw.run(`CREATE TABLE ${table} (job_id VARCHAR(64) NOT NULL, attempt INTEGER NOT NULL)`),
  );
  const rows = () =>
    withRaw(
      target,
      url,
      async (raw) =>
        (await raw.rows(`SELECT job_id, attempt FROM ${table}`)).map((r) => ({
          jobId: String(r.job_id),
          attempt: Number(r.attempt),
        })),
    );
  try {
    await fn(table, rows);
  } finally {
    await withRaw(target, url, (raw) => raw.run(`DROP TABLE ${table}`));
  }
}

/** An async-mode runtime on the tasks above, with a ledger table. */
function withRuntime(
  target: Target,
  options: TestOptions,
  fn: (stint: Stint, table: string, rows: () => Promise<Array<{ jobId: string; attempt: number }>>) => Promise<void>,
): Promise<void> {
  return withDatabase(
    target,
    (url) =>
      withLedger(target, url, (table, rows) =>
        withStintAt(
          url,
          { tasks: TASKS, preserveFinishedJobs: true, ...fastRuntime({ concurrency: 4 }), ...options },
          async (stint) => {
            await stint.start({ mode: "async" });
            await fn(stint, table, rows);
          },
        )),
  );
}

for (const target of scenarioTargets(targetsWithEngine)) {
  describe(target.name, { skip: target.skip }, () => {
    test(
      "the handler's writes commit with the job's success; waiters hear of it",
      T,
      () =>
        withRuntime(target, {}, async (stint, table, rows) => {
          const handles = await stint.enqueueAll(
            Array.from({ length: 6 }, () => ({ task: "tx_ledger", payload: { table } })),
          );
          for (const h of handles) {
            const r = await stint.waitFor(h, { timeout: "20s" });
            assert.deepEqual([r.status, r.returnValue, r.attempts], ["succeeded", { attempt: 1 }, 1]);
          }
          const written = await rows();
          assert.deepEqual(written.map((r) => r.jobId).sort(), handles.map((h) => h.id).sort());
        }),
    );

    test(
      "enqueue({ tx: ctx.tx }) commits with the job, and a throw rolls it back",
      T,
      () =>
        withRuntime(target, {}, async (stint) => {
          seen.stint = stint;
          seen.enqueued = [];
          const { id } = await stint.enqueue(enqueuer, { fail: true });
          const r = await stint.waitFor(id, { timeout: "20s" });
          assert.deepEqual([r.status, r.attempts], ["succeeded", 2]);
          assert.equal(seen.enqueued.length, 2);
          await assert.rejects(
            stint.getResult(seen.enqueued[0]),
            JobNotFoundError,
            "the first attempt's enqueue rolled back",
          );
          const child = await stint.waitFor(r.returnValue as string, { timeout: "20s" });
          assert.deepEqual([child.status, child.returnValue], ["succeeded", "TransactionError"]);
        }),
    );

    test(
      "a throw rolls the writes back and the failure retries; the retry's writes commit",
      T,
      () =>
        withRuntime(target, {}, async (stint, table, rows) => {
          const { id } = await stint.enqueue(failing, { table });
          const r = await stint.waitFor(id, { timeout: "20s" });
          assert.deepEqual([r.status, r.attempts, r.errors.length], ["succeeded", 2, 1]);
          assert.deepEqual(await rows(), [{ jobId: id, attempt: 2 }], "only the second attempt's row");
        }),
    );

    test(
      "a timeout rolls the writes back; ctx.tx refuses use after it",
      T,
      () =>
        withRuntime(target, {}, async (stint, table, rows) => {
          seen.late = [];
          const { id } = await stint.enqueue(slow, { table });
          const r = await stint.waitFor(id, { timeout: "20s" });
          assert.deepEqual([r.status, r.error?.name], ["failed", "JobTimeoutError"]);
          await waitFor("the timed-out handler to finish", () => seen.late.length === 2, { timeout: 10_000 });
          for (const error of seen.late) assert.ok(error instanceof TransactionError, String(error));
          assert.deepEqual(await rows(), []);
        }),
    );

    test(
      "ctx.tx used after the handler returned, or told to commit, is a TransactionError; nothing runs",
      T,
      () =>
        withRuntime(target, {}, async (stint, table, rows) => {
          const { id } = await stint.enqueue(keeper, { table });
          const r = await stint.waitFor(id, { timeout: "20s" });
          assert.deepEqual([r.status, r.returnValue], ["succeeded", { commit: "TransactionError" }]);
          const kept = seen.kept!;
          assert.throws(() => kept.ctx.tx, TransactionError);
          assert.throws(() => kept.method(), TransactionError);
          // deno-lint-ignore no-explicit-any
          const tx = kept.tx as any;
          assert.throws(() => (typeof tx === "function" ? tx(["SELECT 1"]) : tx.execute), TransactionError);
          assert.equal((await rows()).length, 1);
          const other = await stint.enqueue(plain, null);
          assert.equal(
            (await stint.waitFor(other, { timeout: "20s" })).returnValue,
            "TransactionError",
            "not transactional",
          );
        }),
    );

    test(
      "ctx.step, sleep and spawn in a transactional task are TransactionErrors; nothing is stored",
      T,
      () =>
        withRuntime(target, {}, async (stint) => {
          const { id } = await stint.enqueue(durable, null);
          const r = await stint.waitFor(id, { timeout: "20s" });
          assert.deepEqual([r.status, r.returnValue], ["succeeded", Array(3).fill("TransactionError")]);
          assert.equal((await stint.driver.stepList({ backend: stint.backend, jobId: id })).size, 0);
          assert.deepEqual(await stint.jobs({ parentId: id }), []);
        }),
    );

    test("a claim no longer held when the handler returns: rolled back and reported", T, () => {
      const reported: string[] = [];
      return withRuntime(target, {
        allowRuntimeErrors: true,
        onRuntimeError: (error, context) => void reported.push(`${context.operation}: ${(error as Error).name}`),
      }, async (stint, table, rows) => {
        const { id } = await stint.enqueue(loser, { table });
        const r = await stint.waitFor(id, { timeout: "20s" });
        assert.deepEqual([r.status, r.error?.name], ["failed", "TransactionError"]);
        assert.deepEqual(await rows(), [], "the handler's insert rolled back");
        assert.deepEqual(reported, ["transactional finish: TransactionError"]);
      });
    });

    test(
      "worker mode refuses transactional tasks, at createStint and at start; nothing is written",
      T,
      () =>
        withDatabase(target, async (url) => {
          await assert.rejects(
            createStint({ url, backend: uniqueBackend(), mode: "worker", tasks: [ledger] }),
            (e) => e instanceof ConfigError && /transactional/.test(e.message),
          );
          await withStintAt(url, { tasks: TASKS_URL }, async (stint) => {
            await assert.rejects(
              stint.start({ mode: "worker" }),
              (e) => e instanceof ConfigError && /tx_ledger/.test(e.message),
            );
            assert.deepEqual(await stint.driver.processList({ backend: stint.backend }), []);
          });
        }),
    );

    test(
      "under repeated kill -9 of supervisors, one ledger row per succeeded job and none for failed ones",
      {
        ...T,
        timeout: 120_000,
        skip: target.name === "postgres-engine" ? "a child supervisor opens the full driver" : undefined,
      },
      () =>
        withDatabase(
          target,
          (url) =>
            withLedger(target, url, (table, rows) =>
              withStintAt(url, { tasks: TASKS_URL, preserveFinishedJobs: true }, async (stint) => {
                // SQLite runs one transaction at a time (its single writer): shorter jobs keep the run short.
                const ms = target.dialect === "libsql" ? 40 : 150;
                const handles = await stint.enqueueAll(
                  Array.from(
                    { length: 40 },
                    (_, i) => ({ task: "tx_ledger", payload: { table, ms, fail: i % 10 === 9 } }),
                  ),
                );
                const ids = handles.map((h) =>
                  h.id
                );
                const ended = async () => {
                  let n = 0;
                  for (const id of ids) if (ENDED.has((await stint.getResult(id)).status)) n++;
                  return n;
                };
                for (let kill = 0; kill < 3; kill++) {
                  const before = await ended();
                  const child = await startSupervisor(url, stint.backend);
                  await waitFor("a few jobs to end", async () => (await ended()) >= Math.min(ids.length, before + 3), {
                    timeout: 30_000,
                    interval: 25,
                  });
                  await child.kill();
                }
                const last = await startSupervisor(url, stint.backend);
                await waitFor("every job to end", async () => (await ended()) === ids.length, {
                  timeout: 60_000,
                  interval: 100,
                });
                await last.kill();
                const byJob = new Map<string, number>();
                for (const row of await rows()) {
                  byJob.set(row.jobId, (byJob.get(row.jobId) ?? 0) + 1);
                }
                let succeeded = 0;
                let interrupted = 0;
                for (const id of ids) {
                  const r = await stint.getResult(id);
                  assert.equal(
                    byJob.get(id) ?? 0,
                    r.status === "succeeded" ? 1 : 0,
                    `job ${id}: ${r.status}, ${r.attempts} attempts`,
                  );
                  if (r.status === "succeeded") {
                    succeeded++;
                  }
                  if (
                    r.errors.some((e) => /^Process/.test(e.name))
                  ) interrupted++;
                }
                assert.ok(succeeded >= 30, `most jobs succeeded (${succeeded})`);
                assert.ok(interrupted > 0, "a kill landed inside a running job's transaction");
              })),
        ),
    );
  });
}

const ENDED = new Set<JobStatus>(["succeeded", "failed"]);
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** test/fixtures/tx-supervisor.ts in a child of this runtime, once it printed "ready"; kill() is kill -9. */
async function startSupervisor(url: string, backend: string): Promise<{ kill(): Promise<void> }> {
  const isDeno = "Deno" in globalThis;
  const options = {
    workers: [{ concurrency: 4, pollingInterval: "50ms" }],
    dispatchers: [{ pollingInterval: "100ms" }],
    processHeartbeatInterval: "300ms",
    processAliveThreshold: "2s",
    shutdownTimeout: "1s",
  };
  const child = spawn(process.execPath, isDeno ? ["run", "-A", CHILD] : [CHILD], {
    env: {
      ...process.env,
      NO_COLOR: "1",
      STINT_TEST_URL: url,
      STINT_TEST_BACKEND: backend,
      STINT_TEST_OPTIONS: JSON.stringify(options),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  exit.then(() => (exited = true));
  await waitFor("the child supervisor to be ready", () => {
    if (exited) throw new Error(`the child exited before it was ready:\n${out}`);
    return /^ready \d+$/m.test(out);
  }, { timeout: 30_000, interval: 25 });
  return {
    async kill() {
      process.kill(child.pid!, "SIGKILL");
      await exit;
      children.delete(child);
    },
  };
}
