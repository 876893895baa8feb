/**
 * Worker mode with real Web Workers, in this process: isolates that die (an
 * error thrown outside a handler, self.close(), a busy loop) are replaced and
 * their jobs accounted for; timeout and cancel reach the job's signal inside its
 * isolate; a job ignoring its abort gets its isolate terminated; a CPU-heavy
 * job leaves the main thread's heartbeats and claims alone.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import type { HookEvent, JobResult, Stint, Supervisor } from "../../mod.ts";
import { ProcessExitError } from "../../mod.ts";
import { type RuntimeErrorRecord, sleep, withStintAt } from "../support/harness.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";
import { assertAccounted, isDeno, scratch, waitForAll, workerModeOptions } from "./support.ts";

interface WorkerRun {
  stint: Stint;
  supervisor: Supervisor;
  exits: HookEvent[];
  runtimeErrors: RuntimeErrorRecord[];
  dir: string;
}

/** A worker-mode runtime (2 isolates, 4 slots) on a fresh libSQL file; hooks record worker.exit. */
async function withWorkerMode(
  overrides: Record<string, unknown>,
  fn: (run: WorkerRun) => Promise<void>,
): Promise<void> {
  const { dir, url, remove } = scratch();
  try {
    await withStintAt(
      url,
      { ...workerModeOptions(overrides), allowRuntimeErrors: true },
      async (stint, runtimeErrors) => {
        const exits: HookEvent[] = [];
        stint.on("worker.exit", (event) => void exits.push(event));
        const supervisor = await stint.start({ mode: "worker" });
        const workers = overrides.workers as Array<{ isolates: number }> | undefined;
        assert.equal(supervisor.workers[0].isolatesAlive, workers?.[0].isolates ?? 2);
        await fn({ stint, supervisor, exits, runtimeErrors, dir });
      },
    );
  } finally {
    remove();
  }
}

/** Enqueues `n` add jobs and checks each succeeds with its sum. */
async function addsSucceed(stint: Stint, n: number): Promise<void> {
  const handles = await stint.enqueueAll(
    Array.from({ length: n }, (_, i) => ({ task: "add", payload: { a: i, b: 1000 } })),
  );
  const done = await waitForAll(stint, handles.map((h) => h.id), ["succeeded", "failed"]);
  done.forEach((r, i) => assert.deepEqual([r.status, r.returnValue], ["succeeded", i + 1000], `job ${i}`));
}

/**
 * Waits for the job to leave `running` (ended, or released to ready) and
 * checks, at the first sight of it, that `done()` already holds: the outcome
 * was written only after the handler ended or its isolate was terminated.
 */
async function endedAfter(stint: Stint, id: string, done: () => boolean, what: string): Promise<JobResult> {
  let r: JobResult | null = null;
  let claimed = false;
  await waitFor(`job ${id} to leave running`, async () => {
    r = await stint.getResult(id);
    claimed ||= r.status === "running";
    if (!claimed || r.status === "running") return false;
    // Read after the status: had the outcome come first, this could still be false.
    assert.ok(done(), `job ${id} became ${r.status} before ${what}`);
    return true;
  }, { timeout: 15_000 });
  return r!;
}

function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

const T = { timeout: 45_000 };

describe("worker mode: a dying isolate is replaced and its jobs accounted for", () => {
  const cases = [
    { how: "throw", what: "throws outside a handler", message: /threw an uncaught error/ },
    // Bun sends "close"; Deno tells the main thread nothing and the watchdog notices.
    { how: "close", what: "closes itself", message: isDeno ? /stopped answering its watchdog/ : /exited/ },
    { how: "exit", what: "calls process.exit()", message: isDeno ? /stopped answering its watchdog/ : /exited/ },
    { how: "loop", what: "busy-loops", message: /stopped answering its watchdog/ },
  ] as const;

  for (const { how, what, message } of cases) {
    test(`an isolate that ${what}`, T, () =>
      withWorkerMode({}, async ({ stint, supervisor, exits, runtimeErrors }) => {
        const worker = supervisor.workers[0];
        const crash = await stint.enqueue("crasher", { how, loopMs: 3000 });
        const bystanders = await stint.enqueueAll(
          Array.from({ length: 6 }, (_, i) => ({ task: "add", payload: { a: i, b: 1 } })),
        );
        const r = await waitForStatus(stint, crash.id, ["failed", "succeeded"], 20_000);
        assert.equal(r.status, "failed");
        assert.equal(r.error?.name, "ProcessExitError");
        assert.match(r.error!.message, message);
        assert.equal(r.attempts, 1);
        // Jobs that shared the dead isolate fail with it; the others succeed. None is left behind.
        for (const b of await waitForAll(stint, bystanders.map((h) => h.id), ["succeeded", "failed"])) {
          assertAccounted(b, ["ProcessExitError"]);
        }

        await waitFor("the worker.exit hook", () => exits.length > 0, { timeout: 10_000 });
        assert.equal(exits[0].name, "worker.exit");
        assert.equal(exits[0].kind, "worker");
        assert.match(exits[0].processName, /^worker-1\/isolate-[12]$/);
        assert.equal(exits[0].processId, worker.id);
        assert.ok(exits[0].error instanceof ProcessExitError);
        assert.ok(runtimeErrors.some((e) => e.context.operation === "isolate" && e.error instanceof ProcessExitError));

        await waitFor("a replacement isolate", () => worker.isolatesAlive === 2, { timeout: 10_000 });
        await addsSucceed(stint, 8);
      }));
  }

  test("a task with retry runs again after its isolate died", T, () =>
    withWorkerMode({}, async ({ stint, exits }) => {
      const { id } = await stint.enqueue("crasher_retry", { how: "throw", until: 1 });
      const r = await waitForStatus(stint, id, ["succeeded", "failed"], 20_000);
      assert.equal(r.status, "succeeded");
      assert.deepEqual(r.returnValue, { attempt: 2 });
      assert.equal(r.attempts, 2);
      assert.deepEqual(r.errors.map((e) => [e.attempt, e.name]), [[1, "ProcessExitError"]]);
      assert.equal(exits.length, 1);
    }));
});

describe("worker mode: aborts reach the isolate", () => {
  test(
    "a timeout aborts the job's signal inside its isolate",
    T,
    () =>
      // A grace and a watchdog far above what the handler needs, so a loaded machine cannot
      // turn "honoured the abort in time" into a termination.
      withWorkerMode({ isolateAbortGrace: "2s", isolateWatchdogTimeout: "10s" }, async ({ stint, dir, exits }) => {
        const { id } = await stint.enqueue("sleepy_timeout", { ms: 20_000, dir });
        const r = await waitForStatus(stint, id, ["failed", "succeeded"], 10_000);
        assert.equal(r.status, "failed");
        assert.equal(r.error?.name, "JobTimeoutError");
        const marker = `${dir}/${id}.aborted`;
        await waitFor("the handler to see its abort", () => existsSync(marker), { timeout: 5000 });
        assert.equal(readFileSync(marker, "utf8"), "JobTimeoutError");
        await addsSucceed(stint, 4);
        // It honoured the abort, so its isolate was not terminated (past the 2 s grace).
        await sleep(2500);
        assert.equal(exits.length, 0);
      }),
  );

  test(
    "stint.cancel(id) aborts the job's signal inside its isolate",
    T,
    () =>
      withWorkerMode({}, async ({ stint, dir, exits }) => {
        const { id } = await stint.enqueue("sleepy", { ms: 20_000, dir });
        await waitFor("the job to start in its isolate", () => existsSync(`${dir}/${id}.started`), { timeout: 10_000 });
        assert.deepEqual(await stint.cancel(id), { id, status: "running", duplicate: false });
        const r = await waitForStatus(stint, id, ["cancelled", "failed", "succeeded"], 10_000);
        assert.equal(r.status, "cancelled");
        const marker = `${dir}/${id}.aborted`;
        await waitFor("the handler to see its abort", () => existsSync(marker), { timeout: 5000 });
        assert.equal(readFileSync(marker, "utf8"), "JobCancelledError");
        await addsSucceed(stint, 4);
        assert.equal(exits.length, 0);
      }),
  );

  test(
    "a job that ignores its abort past isolateAbortGrace gets its isolate terminated",
    T,
    () =>
      withWorkerMode({ isolateWatchdogTimeout: "10s" }, async ({ stint, supervisor, dir, exits }) => {
        const { id } = await stint.enqueue("ignores_abort", { ms: 8000, dir });
        // The outcome is written only once the isolate is gone: never while the handler still runs.
        const r = await endedAfter(stint, id, () => exits.length > 0, "the isolate's termination");
        assert.equal(r.status, "failed");
        assert.equal(r.error?.name, "JobTimeoutError");
        assert.match(String((exits[0].error as Error).message), new RegExp(`job ${id} ignored its abort for 300 ms`));
        // The handler ticks every 50 ms while it lives: once terminated, it ticks no more.
        const ticks = `${dir}/${id}.ticks`;
        await sleep(300);
        const size = fileSize(ticks);
        assert.ok(size > 0, "the handler ran");
        await sleep(600);
        assert.equal(fileSize(ticks), size, "the terminated isolate kept running the handler");
        await waitFor("a replacement isolate", () => supervisor.workers[0].isolatesAlive === 2, { timeout: 10_000 });
        await addsSucceed(stint, 8);
      }),
  );

  test(
    "a synchronous loop past its abort: the job fails, a new isolate takes its place, later jobs run",
    T,
    () =>
      withWorkerMode({ isolateWatchdogTimeout: "10s" }, async ({ stint, supervisor, dir, exits }) => {
        const { id } = await stint.enqueue("spins_past_abort", { ms: 2500, dir });
        const r = await waitForStatus(stint, id, ["failed", "succeeded"], 10_000);
        assert.equal(r.status, "failed");
        assert.equal(r.error?.name, "JobTimeoutError");
        await waitFor("the isolate to be terminated", () => exits.length > 0, { timeout: 10_000 });
        assert.match(String((exits[0].error as Error).message), /ignored its abort/);
        await waitFor("a replacement isolate", () => supervisor.workers[0].isolatesAlive === 2, { timeout: 10_000 });
        await addsSucceed(stint, 8);
        if (!isDeno) {
          // Bun really stops a looping worker. (Deno's terminate() cannot: the loop runs out its 2.5 s.)
          const ticks = `${dir}/${id}.ticks`;
          await sleep(200);
          const size = fileSize(ticks);
          await sleep(600);
          assert.equal(fileSize(ticks), size, "the terminated isolate kept looping");
        }
      }),
  );
});

describe("worker mode: the main thread stays responsive", () => {
  test("a CPU-heavy job does not delay heartbeats or claims", T, () =>
    withWorkerMode(
      { isolateWatchdogTimeout: "20s", processHeartbeatInterval: "200ms" },
      async ({ stint, supervisor }) => {
        const workerId = supervisor.workers[0].id;
        const heavy = await stint.enqueue("cpu_heavy", { ms: 2000 });
        await waitForStatus(stint, heavy.id, "running", 10_000);
        const ages: number[] = [];
        let quickDone = 0;
        let quick: Promise<unknown> | null = null;
        while ((await stint.getResult(heavy.id)).status === "running") {
          const row = (await stint.driver.processList({ backend: stint.backend })).find((p) => p.id === workerId);
          assert.ok(row, "the worker's process row exists");
          ages.push(Date.now() - row.lastHeartbeatAt.getTime());
          // Jobs enqueued meanwhile are claimed and run by the other isolate.
          quick ??= stint.enqueue("add", { a: quickDone, b: 1 }).then(async ({ id }) => {
            const r = await waitForStatus(stint, id, ["succeeded", "failed"], 10_000);
            assert.equal(r.returnValue, quickDone + 1);
            if ((await stint.getResult(heavy.id)).status === "running") quickDone++;
            quick = null;
          });
          await sleep(100);
        }
        await quick;
        assert.equal((await stint.getResult(heavy.id)).status, "succeeded");
        assert.ok(ages.length >= 3, `sampled the heartbeat ${ages.length} times during the loop`);
        assert.ok(Math.max(...ages) < 1000, `heartbeat ages during the CPU loop: ${ages.join(", ")} ms`);
        assert.ok(quickDone >= 1, "a job enqueued during the CPU loop finished before it");
      },
    ));
});

describe("worker mode: a job's outcome waits for its isolate to be done with it", () => {
  // The handler sees its abort but takes 600 ms to stop, within the abort grace.
  const lingering = { isolateAbortGrace: "3s", isolateWatchdogTimeout: "10s" };

  for (const how of ["timeout", "cancel", "stop"] as const) {
    test(
      `${how}: the outcome is written after the handler ended`,
      T,
      () =>
        withWorkerMode(lingering, async ({ stint, supervisor, dir }) => {
          const task = how === "timeout" ? "lingers_timeout" : "lingers";
          const { id } = await stint.enqueue(task, { ms: 20_000, linger: 600, dir });
          await waitFor("the job to start in its isolate", () => existsSync(`${dir}/${id}.started`), {
            timeout: 10_000,
          });
          let stopping: Promise<void> | null = null;
          if (how === "cancel") await stint.cancel(id);
          if (how === "stop") stopping = supervisor.stop();
          const r = await endedAfter(stint, id, () => existsSync(`${dir}/${id}.ended`), "its handler ended");
          await stopping;
          const expected = { timeout: "failed", cancel: "cancelled", stop: "ready" } as const;
          assert.equal(r.status, expected[how]);
        }),
    );
  }

  test(
    "jobs queued behind a handler that holds the thread go back to ready when the isolate is terminated, and never start there",
    T,
    () =>
      withWorkerMode(
        {
          isolateWatchdogTimeout: "10s",
          isolateAbortGrace: "2s",
          workers: [{ isolates: 1, concurrency: 2, pollingInterval: "50ms" }],
        },
        async ({ stint, dir, exits }) => {
          // A synchronous loop that ignores its abort: Deno's terminate() cannot stop it.
          const spinMs = 4000;
          const holder = await stint.enqueue("spins_past_abort", { ms: spinMs, dir });
          await waitFor("the loop to start", () => existsSync(`${dir}/${holder.id}.ticks`), { timeout: 10_000 });
          const loopEnds = Date.now() + spinMs;
          const file = `${dir}/queued.log`;
          const queued = await stint.enqueue("record", { file });
          // Claimed and posted to the one isolate, behind the loop; 2.3 s into the loop (its timeout and the grace)
          // the isolate is terminated.
          await waitForStatus(stint, queued.id, "running", 10_000);
          assert.equal(exits.length, 0, "the queued job was posted before the isolate was terminated");
          const r = await waitForStatus(stint, queued.id, ["succeeded", "failed"], 15_000);
          assert.equal(r.status, "succeeded", `the queued job: ${JSON.stringify(r.error)}`);
          assert.equal(r.attempts, 1, "it never started, so it was released, not failed");
          assert.deepEqual(r.errors, []);
          assert.equal((await stint.getResult(holder.id)).error?.name, "JobTimeoutError");
          assert.match(String((exits[0].error as Error).message), new RegExp(`job ${holder.id} ignored its abort`));
          // On Deno the terminated isolate loops on until loopEnds: it must not start the queued job then.
          await sleep(Math.max(0, loopEnds - Date.now()) + 500);
          assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 1, "the queued job ran once");
        },
      ),
  );
});
