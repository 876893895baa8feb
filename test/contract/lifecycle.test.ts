/** The async runtime's lifecycle: graceful stop, release on shutdown, cancel, hooks, start options. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defineTask, type TaskContext } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { fastRuntime, withStint, withStintAt } from "../support/harness.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

/** A task that reports when it starts and waits for `release()` or its signal. */
function gatedTask(name: string, options: { timeout?: string } = {}) {
  const started: string[] = [];
  const attempts: number[] = [];
  const reasons: unknown[] = [];
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const task = defineTask(name, async (_: null, ctx: TaskContext) => {
    started.push(ctx.jobId);
    attempts.push(ctx.attempt);
    ctx.signal.addEventListener("abort", () => reasons.push(ctx.signal.reason));
    await gate;
    return "released";
  }, options);
  return { task, started, attempts, reasons, release: () => open() };
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("async runtime: stopping", () => {
      test("stop() lets in-flight jobs finish within shutdownTimeout", () => {
        const g = gatedTask("gated_drain");
        return withStint(target, { tasks: [g.task], ...fastRuntime(), shutdownTimeout: "3s" }, async (stint) => {
          const supervisor = await stint.start({ mode: "async" });
          const { id } = await stint.enqueue(g.task, null);
          await waitFor("the job to start", () => g.started.length === 1);
          const stopping = supervisor.stop();
          setTimeout(g.release, 100); // finishes while the stop waits
          await stopping;
          await supervisor.stopped;
          const r = await stint.getResult(id);
          assert.equal(r.status, "succeeded");
          assert.equal(r.returnValue, "released");
          assert.deepEqual(g.reasons, [], "a job that finishes in time is never aborted");
        });
      });

      test("a job still running past shutdownTimeout goes back to ready and runs again on the next start", () => {
        let calls = 0;
        const reasons: string[] = [];
        const attempts: number[] = [];
        const stubborn = defineTask("stubborn", (_: null, ctx: TaskContext) => {
          calls++;
          attempts.push(ctx.attempt);
          ctx.signal.addEventListener("abort", () => reasons.push((ctx.signal.reason as Error).name));
          if (calls === 1) return new Promise<never>(() => {}); // ignores its signal and never settles
          return "second run";
        });
        return withStint(target, { tasks: [stubborn], ...fastRuntime(), shutdownTimeout: "100ms" }, async (stint) => {
          const supervisor = await stint.start({ mode: "async" });
          const { id } = await stint.enqueue(stubborn, null);
          await waitFor("the job to start", () => calls === 1);
          assert.equal((await stint.getResult(id)).attempts, 1);
          await supervisor.stop();
          const released = await stint.getResult(id);
          assert.equal(released.status, "ready");
          assert.equal(released.attempts, 0, "a released run does not count as an attempt");
          assert.deepEqual(released.errors, []);
          assert.equal(await stint.queue("default").size(), 1);
          assert.equal(reasons.length, 1, "its signal was aborted at the deadline");

          await stint.start({ mode: "async" });
          const r = await waitForStatus(stint, id, "succeeded");
          assert.equal(r.returnValue, "second run");
          assert.equal(r.attempts, 1);
          assert.deepEqual(attempts, [1, 1]);
        });
      });

      test("close() stops a running runtime", () => {
        const g = gatedTask("gated_close");
        let jobId = "";
        return withStint(target, { tasks: [g.task], ...fastRuntime(), shutdownTimeout: "50ms" }, async (stint) => {
          const supervisor = await stint.start({ mode: "async" });
          jobId = (await stint.enqueue(g.task, null)).id;
          await waitFor("the job to start", () => g.started.length === 1);
          const url = stint.config.url;
          await stint.close();
          await supervisor.stopped;
          await assert.rejects(() => stint.start({ mode: "async" }), /closed/);
          await withStintAt(url, { backend: stint.backend }, async (fresh) => {
            assert.equal((await fresh.getResult(jobId)).status, "ready", "released by the stop in close()");
          });
        });
      });
    });

    describe("async runtime: cancel", () => {
      test("cancel(id) of a running job aborts its signal and the job ends cancelled", () => {
        const g = gatedTask("gated_cancel");
        return withStint(target, { tasks: [g.task], ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const { id } = await stint.enqueue(g.task, null);
          await waitFor("the job to start", () => g.started.length === 1);
          assert.deepEqual(await stint.cancel(id), { id, status: "running", duplicate: false });
          const r = await waitForStatus(stint, id, ["cancelled", "succeeded", "failed"]);
          assert.equal(r.status, "cancelled");
          assert.equal(r.error?.name, "JobCancelledError");
          assert.ok(r.finishedAt instanceof Date);
          assert.equal((g.reasons[0] as Error)?.name, "JobCancelledError");
          g.release();
        });
      });

      test("a cancel from another instance reaches the running job through the database", () => {
        const g = gatedTask("gated_remote_cancel");
        return withStint(target, { tasks: [g.task], ...fastRuntime() }, async (stint) => {
          await stint.start({ mode: "async" });
          const { id } = await stint.enqueue(g.task, null);
          await waitFor("the job to start", () => g.started.length === 1);
          await withStintAt(stint.config.url, { backend: stint.backend }, async (operator) => {
            assert.deepEqual(await operator.cancel(id), { id, status: "running", duplicate: false });
          });
          const r = await waitForStatus(stint, id, ["cancelled", "succeeded", "failed"], 4000);
          assert.equal(r.status, "cancelled");
          assert.equal((g.reasons[0] as Error)?.name, "JobCancelledError");
          g.release();
        });
      });
    });

    describe("hooks", () => {
      test("hooks fire in registration order; a throwing hook goes to onRuntimeError and does not block the next", () => {
        const calls: string[] = [];
        const noop = defineTask("noop", () => null);
        return withStint(
          target,
          { tasks: [noop], ...fastRuntime(), allowRuntimeErrors: true },
          async (stint, runtimeErrors) => {
            stint.on("supervisor.start", (e) => void calls.push(`supervisor.start:${e.kind}`));
            stint.on("worker.start", (e) => void calls.push(`first:${e.name}`));
            stint.on("worker.*", (e) => {
              calls.push(`throws:${e.name}`);
              throw new Error(`hook boom on ${e.name}`);
            });
            stint.on("worker.start", async (e) => {
              await Promise.resolve();
              calls.push(`third:${e.name}`);
            });
            const off = stint.on("worker.start", () => void calls.push("removed"));
            off();

            const supervisor = await stint.start({ mode: "async" });
            assert.deepEqual(calls, [
              "supervisor.start:supervisor",
              "first:worker.start",
              "throws:worker.start",
              "third:worker.start",
            ]);
            assert.equal(runtimeErrors.length, 1);
            assert.equal(runtimeErrors[0].context.operation, "hook worker.*");
            assert.equal((runtimeErrors[0].error as Error).message, "hook boom on worker.start");

            await supervisor.stop();
            assert.deepEqual(calls.slice(4), ["throws:worker.stop"]);
            assert.equal(runtimeErrors.length, 2);
            assert.equal((runtimeErrors[1].error as Error).message, "hook boom on worker.stop");
          },
        );
      });

      test("a bad hook name or handler is a ConfigError", () =>
        withStint(target, {}, (stint) => {
          assert.throws(() => stint.on("worker.begin" as "worker.start", () => {}), ConfigError);
          assert.throws(() => stint.on("robot.start" as "worker.start", () => {}), ConfigError);
          assert.throws(() => stint.on("worker.start", "nope" as unknown as () => void), ConfigError);
          return Promise.resolve();
        }));
    });

    describe("start options", () => {
      test("bad start options and a runtime without tasks are ConfigErrors", () =>
        withStint(target, {}, async (stint) => {
          await assert.rejects(() => stint.start({ mode: "async" }), /tasks/);
          await assert.rejects(() => stint.start({ mode: "async" }), ConfigError);
          await assert.rejects(() => stint.start({ mode: "bogus" as "async" }), ConfigError);
          await assert.rejects(() => stint.start({ only: "both" as "work" }), ConfigError);
          await assert.rejects(() => stint.start({ bogus: true } as unknown as { mode: "async" }), /bogus/);
        }));
    });
  });
}
