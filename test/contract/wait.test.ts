/** stint.waitFor(job, { timeout }), against every target. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  createStint,
  defineTask,
  JobNotFoundError,
  type Stint,
  StintError,
  WaitTimeoutError,
} from "../../mod.ts";
import { newJobId } from "../../src/ids.ts";
import { targets } from "../support/targets.ts";
import { fastRuntime, uniqueBackend, uniqueName, withDatabase, withStint } from "../support/harness.ts";

const add = defineTask("add", ({ a, b }: { a: number; b: number }) => a + b);
const boom = defineTask("boom", () => {
  throw new Error("boom");
});
/** Fails its first attempt: in between, the job waits for its retry (status scheduled). */
const flaky = defineTask("flaky", (_: null, ctx) => {
  if (ctx.attempt < 2) throw new Error("first attempt fails");
  return `attempt ${ctx.attempt}`;
}, { retry: { attempts: 2, backoff: "300ms" } });
/** Held until the test releases it, so a wait is certainly pending. */
let release: () => void = () => {};
const held = defineTask("held", () => new Promise<string>((resolve) => (release = () => resolve("released"))));

const tasks = [add, boom, flaky, held];

function isClosed(error: unknown): boolean {
  assert.ok(error instanceof StintError, `expected a StintError, got ${String(error)}`);
  assert.equal(error.code, "STINT_CLOSED");
  return true;
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("waitFor", () => {
      test("resolves with the result once the job succeeded, by handle or by id", () =>
        withStint(target, { tasks, ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const handle = await stint.enqueue(add, { a: 1, b: 2 });
          const result = await stint.waitFor<number>(handle, { timeout: "20s" });
          assert.equal(result.status, "succeeded");
          assert.equal(result.returnValue, 3);
          assert.equal((await stint.waitFor(handle.id)).status, "succeeded", "an ended job resolves at once");
        }));

      test("a failed job ends the wait; a job waiting for its retry does not", () =>
        withStint(target, { tasks, ...fastRuntime(), allowRuntimeErrors: true }, async (stint) => {
          await stint.start({ mode: "async" });
          const failed = await stint.waitFor((await stint.enqueue(boom)).id, { timeout: "20s" });
          assert.equal(failed.status, "failed");
          assert.equal(failed.error?.message, "boom");
          const retried = await stint.waitFor(await stint.enqueue(flaky, null), { timeout: "20s" });
          assert.equal(retried.status, "succeeded");
          assert.equal(retried.returnValue, "attempt 2");
          assert.equal(retried.attempts, 2);
        }));

      test("a job cancelled or discarded while waiting ends the wait", () =>
        withStint(target, { tasks }, async (stint) => {
          const a = await stint.enqueue(add, { a: 1, b: 1 }, { delay: "1h" });
          const b = await stint.enqueue(add, { a: 1, b: 1 }, { delay: "1h" });
          const waits = [stint.waitFor(a, { timeout: "20s" }), stint.waitFor(b, { timeout: "20s" })];
          await stint.cancel(a.id);
          await stint.discardJob(b.id);
          assert.deepEqual((await Promise.all(waits)).map((r) => r.status), ["cancelled", "discarded"]);
        }));

      test("another process's instance sees the job end by polling", () =>
        withDatabase(target, async (url) => {
          const backend = uniqueBackend();
          const runner = await createStint({ url, backend, tasks, ...fastRuntime() });
          const client = await createStint({ url, backend });
          try {
            await runner.migrate();
            const handle = await client.enqueue("add", { a: 20, b: 22 });
            const waiting = client.waitFor<number>(handle, { timeout: "20s" });
            await runner.start({ mode: "async" });
            const result = await waiting;
            assert.equal(result.status, "succeeded");
            assert.equal(result.returnValue, 42);
          } finally {
            await client.close();
            await runner.close();
          }
        }));

      test("a timeout rejects with WaitTimeoutError naming the job and its last status", () =>
        withStint(target, { tasks }, async (stint) => {
          const handle = await stint.enqueue(add, { a: 1, b: 1 }, { queue: uniqueName() });
          await assert.rejects(stint.waitFor(handle, { timeout: "300ms" }), (error: unknown) => {
            assert.ok(error instanceof WaitTimeoutError, String(error));
            assert.equal(error.code, "STINT_WAIT_TIMEOUT");
            assert.equal(error.jobId, handle.id);
            assert.equal(error.status, "ready");
            assert.match(error.message, new RegExp(`${handle.id}.*ready`));
            return true;
          });
          assert.equal((await stint.getResult(handle.id)).status, "ready", "the job itself is untouched");
        }));

      test("an unknown id is a JobNotFoundError; bad arguments are ConfigErrors", () =>
        withStint(target, { tasks }, async (stint) => {
          await assert.rejects(stint.waitFor(newJobId()), JobNotFoundError);
          await assert.rejects(stint.waitFor("not-an-id"), JobNotFoundError);
          const { id } = await stint.enqueue(add, { a: 1, b: 1 });
          for (const job of [null, 42, undefined]) {
            await assert.rejects(stint.waitFor(job as unknown as string), ConfigError, String(job));
          }
          for (const options of [null, 5, "1s", { timout: "1s" }, { timeout: -1 }, { timeout: "soon" }, { timeout: NaN }]) {
            await assert.rejects(
              stint.waitFor(id, options as never),
              (error: unknown) => error instanceof ConfigError && /waitFor/.test(error.message),
              JSON.stringify(options),
            );
          }
        }));

      test("close() rejects pending waits with STINT_CLOSED, and later calls too", () =>
        withDatabase(target, async (url) => {
          const stint: Stint = await createStint({ url, backend: uniqueBackend(), tasks, ...fastRuntime() });
          await stint.migrate();
          await stint.start({ mode: "async" });
          const handle = await stint.enqueue(held, null);
          const waiting = stint.waitFor(handle);
          const closing = stint.close();
          await assert.rejects(waiting, isClosed);
          release(); // lets the runtime's drain finish the held job
          await closing;
          await assert.rejects(stint.waitFor(handle), isClosed);
        }));
    });
  });
}
