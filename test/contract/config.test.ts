/** createStint option validation (a ConfigError naming the key, before any connection is made), and migrate. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { ConfigError, createStint, defineTask, type StintOptions } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { uniqueBackend, withDatabase, withStint } from "../support/harness.ts";

async function rejectsConfig(url: string, options: Record<string, unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      const stint = await createStint({ url, backend: uniqueBackend(), ...options } as StintOptions);
      await stint.close();
    },
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError for ${JSON.stringify(options)}, got ${error}`);
      assert.equal(error.code, "CONFIG_INVALID");
      assert.match(error.message, pattern, `for ${JSON.stringify(options)}: ${error.message}`);
      return true;
    },
  );
}

const t1 = defineTask("dup", () => 1);
const t2 = defineTask("dup", () => 2);

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("createStint options", () => {
      test("an unknown key is a ConfigError naming it", () =>
        withDatabase(target, async (url) => {
          await rejectsConfig(url, { bogus: 1 }, /"bogus"/);
          await rejectsConfig(url, { workerz: [] }, /"workerz"/);
          await rejectsConfig(url, { scheduler: { polling: 1 } }, /scheduler.*"polling"/);
        }));

      test("a bad url or scheme is a ConfigError", () =>
        withDatabase(target, async (url) => {
          for (const bad of ["redis://localhost:6379", "stint.db", "", 5, null]) {
            await rejectsConfig(url, { url: bad }, /url/);
          }
        }));

      test("a bad backend alias is a ConfigError", () =>
        withDatabase(target, async (url) => {
          for (const backend of ["", " padded", "x".repeat(201), 5, null]) {
            await rejectsConfig(url, { backend }, /backend/);
          }
        }));

      test("bad workers entries are ConfigErrors naming the entry and key", () =>
        withDatabase(target, async (url) => {
          await rejectsConfig(url, { workers: "all" }, /workers/);
          await rejectsConfig(url, { workers: [null] }, /workers\[0\]/);
          await rejectsConfig(url, { workers: [{ queues: [] }] }, /workers\[0\]\.queues/);
          await rejectsConfig(url, { workers: [{ queues: "*" }] }, /workers\[0\]\.queues/);
          await rejectsConfig(url, { workers: [{}, { queues: ["ok", "a*b"] }] }, /workers\[1\]\.queues\[1\]/);
          await rejectsConfig(url, { workers: [{ queues: [""] }] }, /workers\[0\]\.queues\[0\]/);
          await rejectsConfig(url, { workers: [{ queues: [" q"] }] }, /workers\[0\]\.queues\[0\]/);
          await rejectsConfig(url, { workers: [{}, { concurrency: 0 }] }, /workers\[1\]\.concurrency/);
          await rejectsConfig(url, { workers: [{ concurrency: 1.5 }] }, /workers\[0\]\.concurrency/);
          await rejectsConfig(url, { workers: [{ isolates: 0 }] }, /workers\[0\]\.isolates/);
          await rejectsConfig(url, { workers: [{ threads: 2 }] }, /workers\[0\].*"threads"/);
        }));

      test("bad durations are ConfigErrors naming the full key", () =>
        withDatabase(target, async (url) => {
          await rejectsConfig(url, { shutdownTimeout: "5 parsecs" }, /shutdownTimeout/);
          await rejectsConfig(url, { shutdownTimeout: -1 }, /shutdownTimeout/);
          await rejectsConfig(url, { processHeartbeatInterval: "-1s" }, /processHeartbeatInterval/);
          await rejectsConfig(url, { processHeartbeatInterval: 0 }, /processHeartbeatInterval/);
          await rejectsConfig(url, { processAliveThreshold: "" }, /processAliveThreshold/);
          await rejectsConfig(url, { statementTimeout: "soon" }, /statementTimeout/);
          await rejectsConfig(url, { workers: [{ pollingInterval: "10 parsecs" }] }, /workers\[0\]\.pollingInterval/);
          await rejectsConfig(url, { dispatchers: [{ pollingInterval: 0 }] }, /dispatchers\[0\]\.pollingInterval/);
          await rejectsConfig(
            url,
            { dispatchers: [{}, { concurrencyMaintenanceInterval: "1 week" }] },
            /dispatchers\[1\]\.concurrencyMaintenanceInterval/,
          );
          await rejectsConfig(url, { scheduler: { pollingInterval: "x" } }, /scheduler\.pollingInterval/);
        }));

      test("other bad values are ConfigErrors naming the key", () =>
        withDatabase(target, async (url) => {
          await rejectsConfig(url, { mode: "sync" }, /mode/);
          await rejectsConfig(url, { dispatchers: [{ batchSize: 0 }] }, /dispatchers\[0\]\.batchSize/);
          await rejectsConfig(url, { preserveFinishedJobs: "yes" }, /preserveFinishedJobs/);
          await rejectsConfig(url, { useSkipLocked: 1 }, /useSkipLocked/);
          await rejectsConfig(url, { onRuntimeError: "log" }, /onRuntimeError/);
          await rejectsConfig(url, { logger: "console" }, /logger/);
          await rejectsConfig(url, { driver: {} }, /driver/);
          await rejectsConfig(url, { tasks: 5 }, /tasks/);
          await rejectsConfig(url, { tasks: [t1, "not a task"] }, /tasks/);
          await rejectsConfig(url, { tasks: [t1, t2] }, /two tasks are named "dup"/);
          await rejectsConfig(url, { tasks: "file:///nonexistent/stint-tasks.ts" }, /tasks/);
        }));

      test("a refused configuration opens nothing", () =>
        withDatabase(target, async (url) => {
          await rejectsConfig(url, { workers: [{ queues: [] }] }, /queues/);
          if (url.startsWith("file:")) {
            assert.equal(existsSync(url.slice("file:".length)), false, "no database file created");
          }
        }));

      test("defaults: one worker on every queue, one dispatcher, the default backend", () =>
        withStint(target, { backend: undefined }, (stint) => {
          assert.equal(stint.backend, "default");
          assert.deepEqual(
            stint.config.workers.map((w) => [w.queues, w.concurrency, w.isolates, w.pollingIntervalMs]),
            [[["*"], 3, 1, 100]],
          );
          assert.deepEqual(stint.config.dispatchers.map((d) => [d.batchSize, d.pollingIntervalMs]), [[500, 1000]]);
          assert.equal(stint.config.shutdownTimeoutMs, 5000);
          assert.equal(stint.config.processHeartbeatIntervalMs, 60_000);
          assert.equal(stint.config.processAliveThresholdMs, 300_000);
          return Promise.resolve();
        }));
    });

    describe("migrate", () => {
      test("is idempotent: a second call applies nothing and keeps the data", () =>
        withStint(target, {}, async (stint) => {
          const { id } = await stint.enqueue("t", { keep: true });
          assert.deepEqual(await stint.migrate(), []);
          assert.deepEqual((await stint.getResult(id)).payload, { keep: true });
        }));

      test("instances migrating the same database at once apply each version once", () =>
        withDatabase(target, async (url) => {
          const instances = await Promise.all([1, 2, 3].map(() => createStint({ url, backend: uniqueBackend() })));
          try {
            const applied = (await Promise.all(instances.map((s) => s.migrate()))).flat();
            assert.equal(new Set(applied).size, applied.length, `versions applied twice: ${applied}`);
            if (target.name === "libsql") assert.ok(applied.includes(1), "a fresh database gets version 1");
            const { id } = await instances[0].enqueue("t", null);
            assert.equal((await instances[0].getResult(id)).status, "ready");
          } finally {
            await Promise.all(instances.map((s) => s.close()));
          }
        }));
    });
  });
}
