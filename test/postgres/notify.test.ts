/**
 * LISTEN/NOTIFY wake-ups: sent by the statement that makes jobs ready and
 * delivered when its transaction commits. PostgreSQL delivers notifications in
 * commit order, so "not delivered yet" is checked without sleeping: a later
 * transaction's wake-up arrives first.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, defineTask, type Stint } from "../../mod.ts";
import { pgUrl, rawClient, skip } from "./env.ts";
import { until, withListening as listeningWith } from "./listening.ts";

const task = defineTask("notify_task", () => null);

/** An instance that knows this file's task and hears its own wake-ups. */
const withListening = (fn: (stint: Stint, wakes: string[]) => Promise<void>) => listeningWith(fn, { tasks: [task] });

async function claimAll(stint: Stint, queue: string) {
  const processId = crypto.randomUUID();
  await stint.driver.processRegister({
    backend: stint.backend,
    id: processId,
    info: {
      kind: "worker",
      name: `w-${processId.slice(0, 8)}`,
      pid: null,
      hostname: null,
      metadata: {},
      supervisorId: null,
    },
    now: new Date(),
  });
  const jobs = await stint.driver.jobClaim({
    backend: stint.backend,
    processId,
    selectors: [{ kind: "exact", queue }],
    limit: 10,
    now: new Date(),
  });
  return { processId, jobs };
}

describe("postgres LISTEN/NOTIFY", { skip }, () => {
  test("an enqueue wakes listeners of its own backend, naming the queue", () =>
    withListening((a, wakesA) =>
      withListening(async (b, wakesB) => {
        await a.enqueue(task, null, { queue: "mail" });
        await until(wakesA, "mail");
        await b.enqueue(task, null, { queue: "other" });
        await until(wakesB, "other");
        assert.deepEqual(wakesB, ["other"], "backend b never hears backend a's queues");
        assert.equal(wakesA.includes("other"), false);
        await a.enqueueAll([{ task, payload: 1, options: { queue: "bulk" } }, {
          task,
          payload: 2,
          options: { queue: "bulk" },
        }]);
        await until(wakesA, "bulk");
        await a.enqueue(task, null, { queue: "later", delay: "1h" });
        await a.enqueue(task, null, { queue: "marker" });
        await until(wakesA, "marker");
        assert.equal(wakesA.includes("later"), false, "a scheduled job wakes nobody");
      })
    ));

  test("inside a caller's transaction the wake-up waits for the commit", () =>
    withListening(async (stint, wakes) => {
      const sql = rawClient();
      try {
        await sql.begin(async (tx) => {
          await stint.enqueue(task, null, { queue: "inside", tx });
          // Committed while the caller's transaction is still open: delivered first.
          await stint.enqueue(task, null, { queue: "outside" });
          await until(wakes, "outside");
          assert.deepEqual(wakes, ["outside"]);
        });
        await until(wakes, "inside");
        assert.deepEqual(wakes, ["outside", "inside"]);
      } finally {
        await sql.end();
      }
    }));

  test("a rolled-back enqueue wakes nobody and leaves no job", () =>
    withListening(async (stint, wakes) => {
      const sql = rawClient();
      try {
        await assert.rejects(
          sql.begin(async (tx) => {
            await stint.enqueue(task, null, { queue: "rolled_back", tx });
            throw new Error("roll back");
          }),
          /roll back/,
        );
        await stint.enqueue(task, null, { queue: "after" });
        await until(wakes, "after");
        assert.deepEqual(wakes, ["after"]);
        assert.equal(await stint.queue("rolled_back").size(), 0);
      } finally {
        await sql.end();
      }
    }));

  test("jobs that become ready again wake listeners: retried now, released, promoted when due", () =>
    withListening(async (stint, wakes) => {
      await stint.enqueue(task, null, { queue: "again" });
      await stint.enqueue(task, null, { queue: "again" });
      await until(wakes, "again");
      wakes.length = 0;
      const { processId, jobs } = await claimAll(stint, "again");
      assert.equal(jobs.length, 2);
      const error = { name: "Error", message: "try again", stack: null };
      const applied = await stint.driver.jobFinishMany({
        backend: stint.backend,
        processId,
        outcomes: [
          { id: jobs[0].id, kind: "retry", error, retryAt: new Date(Date.now() - 1) },
          { id: jobs[1].id, kind: "released" },
        ],
        preserveFinished: true,
        now: new Date(),
      });
      assert.deepEqual(applied.sort(), jobs.map((j) => j.id).sort());
      await until(wakes, "again");
      assert.equal((await stint.getResult(jobs[0].id)).status, "ready");
      assert.equal((await stint.getResult(jobs[1].id)).attempts, 0);

      const { id } = await stint.enqueue(task, null, { queue: "due", delay: "10m" });
      assert.equal(wakes.includes("due"), false);
      const promoted = await stint.driver.jobPromoteDue({
        backend: stint.backend,
        limit: 10,
        now: new Date(Date.now() + 11 * 60_000),
      });
      assert.deepEqual(promoted, { count: 1, queues: ["due"] });
      await until(wakes, "due");
      assert.equal((await stint.getResult(id)).status, "ready");
    }));

  test("a listener that stops hears nothing more", () =>
    withListening(async (stint, wakes) => {
      const others: string[] = [];
      const stop = await stint.driver.listen!({ backend: stint.backend, onWake: (q) => others.push(...q) });
      await stint.enqueue(task, null, { queue: "first" });
      await until(others, "first");
      await stop();
      await stint.enqueue(task, null, { queue: "second" });
      await until(wakes, "second");
      assert.deepEqual(others, ["first"]);
    }));

  test("an instance with listenNotify: false sends no wake-ups (enqueue, bulk, due promotion, requeue)", () =>
    withListening(async (listening, wakes) => {
      const quiet = await createStint({ url: pgUrl(), backend: listening.backend, tasks: [task], listenNotify: false });
      try {
        await quiet.enqueue(task, null, { queue: "quiet_one" });
        await quiet.enqueueAll([{ task, payload: 1, options: { queue: "quiet_bulk" } }]);
        await quiet.enqueue(task, null, { queue: "quiet_due", runAt: new Date(Date.now() + 50) });
        await new Promise((r) => setTimeout(r, 80));
        const promoted = await quiet.driver.jobPromoteDue({ backend: quiet.backend, limit: 10, now: new Date() });
        assert.equal(promoted.count, 1);
        const { processId, jobs } = await claimAll(quiet, "quiet_one");
        assert.equal(jobs.length, 1);
        await quiet.driver.jobFinishMany({
          backend: quiet.backend,
          processId,
          outcomes: [{ id: jobs[0].id, kind: "released" }],
          preserveFinished: false,
          now: new Date(),
        });
        // Notifications arrive in commit order: once this one is in, any earlier one would be too.
        await listening.enqueue(task, null, { queue: "loud" });
        await until(wakes, "loud");
        assert.deepEqual(wakes, ["loud"]);
        assert.equal(await quiet.queue("quiet_one").size(), 1, "the released job is ready again");
      } finally {
        await quiet.close();
      }
    }));
});
