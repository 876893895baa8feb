/**
 * stint/client (client.ts) against every target: enqueue by task name without
 * the task's code, the same EnqueueErrors as stint.enqueue by name, jobs a
 * Stint runtime runs, results, cancel, queue depths, close. The same client
 * inside workerd and Deno with network permission only: test/edge/.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient, JobNotFoundError, type StintClient } from "../../client.ts";
import { ConfigError, defineTask, EnqueueError, type Stint, StintClosedError } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { fastRuntime, uniqueName, withDatabase, withStintAt } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { waitFor } from "../support/wait.ts";

/** The workers' task: its queue and priority are enqueue-time defaults, its retry a run-time one. */
const flaky = defineTask("flaky_sum", ({ a, b }: { a: number; b: number }, ctx) => {
  if (ctx.attempt === 1) throw new Error("first attempt fails");
  return a + b;
}, { queue: "math", priority: 9, retry: { attempts: 3, backoff: "10ms" } });

/** A Stint (the workers' side, tasks defined) and a client on its database and backend. */
function withBoth(
  target: (typeof targets)[number],
  options: Parameters<typeof withStintAt>[1],
  fn: (stint: Stint, client: StintClient, url: string) => Promise<void>,
): Promise<void> {
  return withDatabase(target, (url) =>
    withStintAt(url, options, async (stint) => {
      const client = await createClient({ url, backend: stint.backend });
      try {
        await fn(stint, client, url);
      } finally {
        await client.close();
      }
    }));
}

/** What a rejection was: its class, code and message. */
async function failure(fn: () => Promise<unknown>): Promise<[string, string, string]> {
  try {
    await fn();
  } catch (error) {
    const e = error as { name: string; code: string; message: string };
    return [e.name, e.code, e.message];
  }
  assert.fail("expected a rejection");
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("stint/client", () => {
      test("by name no task's defaults apply: queue default, priority 0, unless the options say", () =>
        withBoth(target, { tasks: [flaky] }, async (_stint, client) => {
          const plain = await client.getResult((await client.enqueue("flaky_sum", { a: 1, b: 2 })).id);
          assert.deepEqual([plain.task, plain.queue, plain.priority, plain.status], ["flaky_sum", "default", 0, "ready"]);
          assert.deepEqual(plain.payload, { a: 1, b: 2 });
          const later = await client.enqueue("flaky_sum", { a: 1, b: 2 }, { queue: "math", priority: 9, delay: "1h" });
          assert.equal(later.status, "scheduled");
          const result = await client.getResult(later.id);
          assert.deepEqual([result.queue, result.priority], ["math", 9]);
          assert.ok(result.scheduledAt.getTime() > Date.now() + 3_500_000);
          const at = new Date(Date.now() + 60_000);
          assert.equal((await client.getResult((await client.enqueue("other", null, { runAt: at })).id)).scheduledAt.getTime(), at.getTime());
        }));

      test("a bad enqueue is the same EnqueueError as stint.enqueue by name, and writes nothing", () =>
        withBoth(target, {}, async (stint, client) => {
          const bad: Array<[unknown, unknown, unknown]> = [
            ["", null, undefined],
            [" padded", null, undefined],
            [42, null, undefined],
            ["t", () => 1, undefined],
            ["t", { n: 1n }, undefined],
            ["t", null, { queue: "" }],
            ["t", null, { priority: 101 }],
            ["t", null, { priority: NaN }],
            ["t", null, { runAt: "tomorrow" }],
            ["t", null, { delay: "soon" }],
            ["t", null, { delay: 1e20 }],
            ["t", null, { runAt: new Date(), delay: 5 }],
          ];
          for (const [name, payload, options] of bad) {
            const ours = await failure(() => client.enqueue(name as string, payload, options as never));
            const core = await failure(() => stint.enqueue(name as string, payload, options as never));
            assert.equal(ours[0], "EnqueueError", ours[2]);
            assert.deepEqual(ours, core);
          }
          const items: unknown[] = [
            "not an array",
            [{ task: "t" }, null],
            [{ task: "t" }, { task: "t", options: { tx: {} } }],
            [{ task: "t" }, { task: "t", options: { priority: 500 } }],
            // Options that are not an object (JSON at the edge can say anything): typed, not a TypeError.
            [{ task: "t", options: "x" }],
          ];
          for (const list of items) {
            const ours = await failure(() => client.enqueueAll(list as never));
            assert.equal(ours[0], "EnqueueError", ours[2]);
            assert.deepEqual(ours, await failure(() => stint.enqueueAll(list as never)));
          }
          assert.match((await failure(() => client.enqueue("t", null, { bogus: 1 } as never)))[2], /unknown enqueue option "bogus" \(known: .*concurrency/);
          assert.match((await failure(() => client.enqueue(flaky as never)))[2], /the client enqueues by task name: pass "flaky_sum"/);
          assert.deepEqual(await client.queueDepths(), {}, "nothing was written");
        }));

      test("concurrency comes from the options: the key is made from the payload at enqueue", () =>
        withBoth(target, {}, async (_stint, client) => {
          // Semaphores are database-wide: a key of this test's own on a shared server.
          const concurrency = { key: `${uniqueName("account")}:{id}`, limit: 1 };
          assert.equal((await client.enqueue("sync", { id: 7 }, { concurrency })).status, "ready");
          assert.equal((await client.enqueue("sync", { id: 7 }, { concurrency })).status, "blocked");
          assert.equal((await client.enqueue("sync", { id: 8 }, { concurrency })).status, "ready");
          const [name, , message] = await failure(() => client.enqueue("sync", { other: 1 }, { concurrency }));
          assert.equal(name, "EnqueueError");
          assert.match(message, /^sync: concurrency\.key: the payload has no usable field "id"/);
          assert.match((await failure(() => client.enqueue("sync", {}, { concurrency: { key: "k" } as never })))[2], /concurrency\.limit is missing/);
          assert.deepEqual(await client.queueDepths(), { default: 3 });
        }));

      test("enqueueAll writes every item or none; handles in order", () =>
        withBoth(target, {}, async (_stint, client) => {
          const handles = await client.enqueueAll([
            { task: "a", payload: 1 },
            { task: "b", options: { queue: "q2", delay: "1m" } },
            { task: "c", payload: { x: 1 }, options: { concurrency: { key: uniqueName("c"), limit: 1 } } },
          ]);
          assert.deepEqual(handles.map((h) => h.status), ["ready", "scheduled", "ready"]);
          assert.deepEqual((await Promise.all(handles.map((h) => client.getResult(h.id)))).map((r) => r.task), ["a", "b", "c"]);
          assert.deepEqual(await client.enqueueAll([]), []);
          await assert.rejects(() => client.enqueueAll([{ task: "d" }, { task: "" }]), EnqueueError);
          assert.deepEqual(await client.queueDepths(), { default: 2, q2: 1 }, "the bad batch wrote nothing");
        }));

      test("a Stint runtime with the task runs the job; the task's retry applies by name", () =>
        withBoth(target, { tasks: [flaky], ...fastRuntime({ queues: ["*"] }) }, async (stint, client) => {
          await stint.start({ mode: "async" });
          const { id } = await client.enqueue("flaky_sum", { a: 2, b: 3 });
          const done = await waitFor("the job to succeed", async () => {
            const r = await client.getResult<number>(id);
            return r.status === "succeeded" || r.status === "failed" ? r : null;
          }, { timeout: 10_000 });
          assert.deepEqual([done.status, done.returnValue, done.attempts], ["succeeded", 5, 2]);
          assert.equal(done.errors[0].message, "first attempt fails");
        }));

      test("cancel: a waiting job at once, a running one flagged for its worker; unknown ids are JobNotFoundError", () =>
        withBoth(target, {}, async (stint, client) => {
          const waiting = await client.enqueue("t", null, { delay: "1h" });
          assert.deepEqual(await client.cancel(waiting.id), { id: waiting.id, status: "cancelled", duplicate: false });
          assert.equal((await client.getResult(waiting.id)).status, "cancelled");
          assert.deepEqual(await client.cancel(waiting.id), { id: waiting.id, status: "cancelled", duplicate: false }, "again: as it is");
          const running = await client.enqueue("t", null, { queue: "r" });
          await claim(stint, await registerProcess(stint), ["r"], 1);
          assert.deepEqual(await client.cancel(running.id), { id: running.id, status: "running", duplicate: false });
          assert.deepEqual(await stint.driver.jobCancelRequested({ backend: stint.backend, ids: [running.id] }), [running.id]);
          for (const id of [crypto.randomUUID(), "not-an-id"]) {
            await assert.rejects(() => client.cancel(id), JobNotFoundError);
            await assert.rejects(() => client.getResult(id), JobNotFoundError);
          }
        }));

      test("queueDepths: the workers' backend only, every queue asked for present", () =>
        withBoth(target, {}, async (stint, client) => {
          await stint.enqueue("t", null, { queue: "seen" });
          await client.enqueue("t", null, { queue: "later", delay: "1h" });
          assert.deepEqual(await client.queueDepths(), { later: 1, seen: 1 });
          assert.deepEqual(await client.queueDepths({ queues: ["seen", "none"], excludeFuture: true }), { seen: 1, none: 0 });
          assert.deepEqual(await client.queueDepths({ queues: ["later"], excludeFuture: true }), { later: 0 });
        }));

      test("close() closes the driver; every method afterwards is STINT_CLOSED", () =>
        withDatabase(target, (url) =>
          withStintAt(url, {}, async (stint) => {
            const client = await createClient({ url, backend: stint.backend, statementTimeout: "5s" });
            const { id } = await client.enqueue("t");
            await client.close();
            await client.close();
            const methods: Array<() => Promise<unknown>> = [
              () => client.enqueue("t"),
              () => client.enqueueAll([{ task: "t" }]),
              () => client.getResult(id),
              () => client.jobs(),
              () => client.cancel(id),
              () => client.queueDepths(),
            ];
            for (const call of methods) await assert.rejects(call, StintClosedError);
            assert.equal((await stint.getResult(id)).status, "ready", "the job outlives the client");
          })));

      test("bad createClient options are a ConfigError before any connection", () =>
        withDatabase(target, async (url) => {
          const bad: Array<[unknown, RegExp]> = [
            [null, /createClient options must be an object/],
            [{}, /url is missing/],
            [{ url: "nope" }, /url: "nope" is not valid/],
            [{ url: "postgres://u:p/w@h/db" }, /percent-encode it/],
            [{ url, bogus: 1 }, /unknown option "bogus"/],
            [{ url, backend: "" }, /backend must be a non-empty string/],
            [{ url, statementTimeout: 0 }, /statementTimeout/],
            [{ url, driver: {} }, /driver: \{\} is not valid/],
          ];
          for (const [options, pattern] of bad) {
            await assert.rejects(() => createClient(options as never), (error: unknown) => {
              assert.ok(error instanceof ConfigError, String(error));
              assert.match((error as Error).message, pattern);
              return true;
            });
          }
        }));
    });
  });
}
