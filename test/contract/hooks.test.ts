/**
 * Per-task hooks (DESIGN §10, django-db-queue's four): onEnqueue runs in the
 * enqueuing process right after the job is written (inside the caller's
 * transaction with `tx`) and what it throws reaches the caller; `before`
 * failing fails the attempt (the handler does not run, onFailure runs, retry
 * applies); onFailure knows ctx.willRetry; `after` always runs, after
 * onFailure, and its error goes to onRuntimeError without failing the job.
 * The worker-side hooks run in async and worker mode.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import postgres from "postgres";
import mysql from "mysql2/promise";
import { defineTask, type Stint } from "../../mod.ts";
import type { EnqueuedJob } from "../../src/task-context.ts";
import { readLog, REALM } from "../fixtures/tasks-steps.ts";
import { scenarioTargets, type Target, targets } from "../support/targets.ts";
import { allJobs, modesFor, withSteps } from "../support/steps.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

const T = { timeout: 30_000 };
const ENDED = ["succeeded", "failed", "cancelled", "discarded"] as const;

/** Runs `fn` in a transaction of the database client's own kind on `url`: committed when it returns, rolled back when it throws. */
async function inTx(target: Target, url: string, fn: (tx: unknown) => Promise<void>): Promise<void> {
  if (target.dialect === "libsql") {
    const client = createClient({ url });
    const tx = await client.transaction("write");
    try {
      await fn(tx);
      await tx.commit();
    } catch (error) {
      await tx.rollback();
      throw error;
    } finally {
      tx.close();
      client.close();
    }
  } else if (target.dialect === "postgres") {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql.begin(async (tx) => await fn(tx));
    } finally {
      await sql.end();
    }
  } else {
    const conn = await mysql.createConnection(url);
    try {
      await conn.beginTransaction();
      try {
        await fn(conn);
        await conn.commit();
      } catch (error) {
        await conn.rollback();
        throw error;
      }
    } finally {
      await conn.end();
    }
  }
}

/** The hook events a `hooked` job noted, as "event/attempt" (onFailure with its willRetry). */
function events(dir: string, id: string): string[] {
  return readLog(dir, id).filter((e) => e.event).map((e) =>
    e.event === "onFailure" ? `onFailure/${e.attempt}/${e.willRetry ? "retry" : "final"}` : `${e.event}/${e.attempt}`
  );
}

async function jobCount(stint: Stint): Promise<number> {
  return (await allJobs(stint)).length;
}

for (const target of scenarioTargets(targets)) {
  describe(target.name, { skip: target.skip }, () => {
    describe("onEnqueue", () => {
      test(
        "runs right after the job is written, with the job; without tx, tx is undefined",
        T,
        () =>
          withSteps(target, {}, async (stint) => {
            const seen: Array<EnqueuedJob & { stored: string }> = [];
            const task = defineTask("on_enqueue", (_: { n: number }) => null, {
              queue: "hooks",
              hooks: {
                async onEnqueue(job) {
                  // The job is in the database already.
                  seen.push({ ...job, stored: (await stint.getResult(job.id)).status });
                },
              },
            });
            const handle = await stint.enqueue(task, { n: 1 });
            assert.equal(seen.length, 1);
            assert.deepEqual(seen[0], {
              id: handle.id,
              task: "on_enqueue",
              queue: "hooks",
              status: "ready",
              payload: { n: 1 },
              tx: undefined,
              stored: "ready",
            });
            const delayed = await stint.enqueue(task, { n: 2 }, { delay: "1h" });
            assert.equal(seen[1].status, "scheduled");
            assert.equal(seen[1].id, delayed.id);
            await stint.enqueueAll([{ task, payload: { n: 3 } }, { task, payload: { n: 4 } }]);
            assert.deepEqual(
              seen.map((j) => j.payload),
              [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }],
              "once per job of enqueueAll too",
            );
          }),
      );

      test("what it throws reaches the caller of enqueue", T, () =>
        withSteps(target, {}, async (stint) => {
          const boom = new Error("onEnqueue says no");
          const task = defineTask("on_enqueue_throws", () => null, {
            hooks: {
              onEnqueue() {
                throw boom;
              },
            },
          });
          await assert.rejects(stint.enqueue(task, null), (error) => error === boom);
        }));

      test(
        "with tx it runs inside the caller's transaction: its throw rolls the job back with it",
        T,
        () =>
          withSteps(target, {}, async (stint) => {
            const url = stint.config.url;
            let sawTx: unknown = "not called";
            let fail = false;
            const task = defineTask("on_enqueue_tx", () => null, {
              hooks: {
                onEnqueue(job) {
                  sawTx = job.tx;
                  if (fail) throw new Error("onEnqueue fails inside the transaction");
                },
              },
            });
            let used: unknown;
            await inTx(target, url, async (tx) => {
              used = tx;
              await stint.enqueue(task, null, { tx });
            });
            assert.equal(sawTx, used, "the hook got the caller's transaction");
            assert.equal(await jobCount(stint), 1, "committed with the transaction");

            fail = true;
            await assert.rejects(
              inTx(target, url, (tx) => stint.enqueue(task, null, { tx }).then(() => {})),
              /onEnqueue fails inside the transaction/,
            );
            assert.equal(await jobCount(stint), 1, "the second job was rolled back with the caller's transaction");
          }),
      );
    });

    for (const mode of modesFor(target)) {
      describe(`before, after and onFailure (${mode} mode)`, () => {
        test(
          "before failing fails the attempt: the handler does not run, onFailure runs, retry applies, after runs last",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("hooked", { dir, failBefore: 1 });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.equal(r.attempts, 2);
              assert.deepEqual(r.errors.map((e) => e.message), ["before fails on attempt 1"]);
              assert.deepEqual(events(dir, id), [
                "before/1",
                "onFailure/1/retry",
                "after/1",
                "before/2",
                "handler/2",
                "after/2",
              ]);
              const failure = readLog(dir, id).find((e) => e.event === "onFailure")!;
              assert.equal(failure.error, "before fails on attempt 1", "onFailure gets before's error");
            }),
        );

        test(
          "onFailure's willRetry is true, then false on the last attempt; after runs after it each time",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("hooked", { dir, failHandler: 2 });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "failed");
              assert.equal(r.attempts, 2);
              // after's note is written as it starts; the outcome may be written before it ends.
              await waitFor("the last after", () => events(dir, id).length === 8, { timeout: 5000 });
              assert.deepEqual(events(dir, id), [
                "before/1",
                "handler/1",
                "onFailure/1/retry",
                "after/1",
                "before/2",
                "handler/2",
                "onFailure/2/final",
                "after/2",
              ]);
            }),
        );

        test(
          "after's error never fails the job: it goes to onRuntimeError",
          T,
          () =>
            withSteps(target, { mode, allowRuntimeErrors: true }, async (stint, dir, runtimeErrors) => {
              const { id } = await stint.enqueue("hooked", { dir, failAfter: true });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "succeeded");
              assert.equal(r.returnValue, "handled");
              assert.equal(r.attempts, 1);
              assert.deepEqual(r.errors, []);
              await waitFor("after's error to be reported", () => runtimeErrors.length > 0, { timeout: 5000 });
              assert.ok(
                runtimeErrors.some(({ error }) => /after fails/.test(String((error as Error)?.message ?? error))),
                runtimeErrors.map((e) => `${e.context.operation}: ${String(e.error)}`).join("\n"),
              );
              assert.deepEqual(events(dir, id), ["before/1", "handler/1", "after/1"]);
              // Hooks run where the handler runs: inside the isolate in worker mode.
              const [handler, ...hooks] = ["handler", "before", "after"].map((event) =>
                readLog(dir, id).find((e) => e.event === event)!.realm
              );
              assert.deepEqual(hooks, [handler, handler]);
              if (mode === "async") assert.equal(handler, REALM, "in this event loop");
              else assert.notEqual(handler, REALM, "in an isolate");
            }),
        );

        test(
          "in a multi-step job, onFailure's willRetry follows the failing step's own attempts",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("hooked_steps", { dir, trail: [], failAt: "second", failTimes: 3 });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "failed");
              await waitFor("the last after", () => readLog(dir, id).filter((e) => e.event === "after").length === 4, {
                timeout: 5000,
              });
              const failures = readLog(dir, id).filter((e) => e.event === "onFailure").map((e) =>
                `${(e.step as { name: string }).name}/${e.attempt}/${e.willRetry ? "retry" : "final"}`
              );
              assert.deepEqual(failures, ["second/1/retry", "second/2/retry", "second/3/final"]);
            }),
        );

        test(
          "a sleep is not a failure: onFailure does not run, after runs at the end of each run",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("hooked_durable", { dir, ms: "300ms" });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              await waitFor("the last after", () => events(dir, id).length === 6, { timeout: 5000 });
              assert.deepEqual(events(dir, id), [
                "before/1",
                "handler/1",
                "after/1",
                "before/1",
                "handler/1",
                "after/1",
              ]);
            }),
        );

        test(
          "a cancel is not a failure: onFailure does not run, after does",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("hooked_durable", { dir, gate: "never" });
              await waitFor("the handler to start", () => events(dir, id).includes("handler/1"), { timeout: 10_000 });
              await stint.cancel(id);
              assert.equal((await waitForStatus(stint, id, [...ENDED], 10_000)).status, "cancelled");
              await waitFor("after", () => events(dir, id).includes("after/1"), { timeout: 5000 });
              assert.deepEqual(events(dir, id), ["before/1", "handler/1", "after/1"]);
            }),
        );

        test(
          "a multi-step task's before and after run around each step, seeing its position and workspace",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("hooked_steps", { dir, trail: [] });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              await waitFor("the last after", () => readLog(dir, id).filter((e) => e.event === "after").length === 2, {
                timeout: 5000,
              });
              const seen = readLog(dir, id).map((e) =>
                e.event ? [e.event, (e.step as { name: string })?.name, e.trail] : ["step", e.step]
              );
              assert.deepEqual(seen, [
                ["before", "first", []],
                ["step", "first"],
                ["after", "first", undefined],
                ["before", "second", ["first"]],
                ["step", "second"],
                ["after", "second", undefined],
              ]);
            }),
        );
      });
    }
  });
}
