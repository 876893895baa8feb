/**
 * A claim that committed while its answer was lost (a dropped connection) leaves
 * jobs claimed by a live worker that does not know it holds them. The worker
 * compares its claims with what it runs and puts the unknown ones back to ready.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask } from "../../mod.ts";
import { fastRuntime, withStint } from "../support/harness.ts";
import { targets } from "../support/targets.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("claim reconciliation", () => {
      test("claims a worker holds without knowing are released and run again", () => {
        const ran: number[] = [];
        const task = defineTask("reconciled", (_: null, ctx) => void ran.push(ctx.attempt));
        return withStint(target, {
          tasks: [task],
          ...fastRuntime({ queues: ["live"] }),
          processHeartbeatInterval: "200ms",
        }, async (stint) => {
          const supervisor = await stint.start({ mode: "async" });
          const worker = supervisor.workers[0];
          const job = await stint.enqueue(task, null, { queue: "lost" });
          // The "lost answer": the job is claimed for the live worker behind its back
          // (the worker only selects "live", so it never claims this job itself).
          const claimed = await stint.driver.jobClaim({
            backend: stint.backend,
            processId: worker.id,
            selectors: [{ kind: "exact", queue: "lost" }],
            limit: 1,
            now: new Date(),
          });
          assert.deepEqual(claimed.map((j) => j.id), [job.id]);
          assert.equal((await stint.getResult(job.id)).status, "running");
          await waitForStatus(stint, job.id, "ready", 3000);
          const released = await stint.getResult(job.id);
          assert.equal(released.attempts, 0, "the attempt that never started is not counted");
          // A job the worker really runs is never taken from it.
          const live = await stint.enqueue(task, null, { queue: "live" });
          await waitForStatus(stint, live.id, "succeeded", 3000);
          await waitFor(
            "a reconciliation pass after the live job",
            () => new Promise((r) => setTimeout(() => r(true), 400)),
          );
          assert.deepEqual(ran, [1], "the live job ran once");
          assert.equal((await stint.getResult(job.id)).status, "ready");
        });
      });

      test("reconciling while claims are in flight releases no job a claim delivered", { timeout: 30_000 }, () => {
        const runs = new Map<string, number>();
        const task = defineTask("reconciled_busy", async (_: null, ctx) => {
          runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 1));
        });
        const warnings: string[] = [];
        return withStint(target, {
          tasks: [task],
          workers: [{ concurrency: 20, prefetch: 60, pollingInterval: "20ms" }],
          // A check every 25 ms: nearly every one overlaps a claim in flight.
          processHeartbeatInterval: "25ms",
          logger: { debug() {}, info() {}, warn: (message: string) => void warnings.push(message), error() {} },
        }, async (stint) => {
          const handles = await stint.enqueueAll(Array.from({ length: 1200 }, () => ({ task, payload: null })));
          // Every claim's answer arrives 30 ms after it committed: a check in between sees its rows.
          const claim = stint.driver.jobClaim.bind(stint.driver);
          stint.driver.jobClaim = async (p) => {
            const jobs = await claim(p);
            await new Promise((r) => setTimeout(r, 30));
            return jobs;
          };
          const supervisor = await stint.start({ mode: "async" });
          await waitFor("every job to run", () => runs.size === 1200, { timeout: 15_000 });
          for (const h of [handles[0], handles[600], handles[1199]]) {
            await waitForStatus(stint, h.id, "succeeded", 3000);
          }
          await supervisor.stop();
          assert.deepEqual([...new Set(runs.values())], [1], "no job ran twice");
          assert.deepEqual(warnings.filter((w) => w.includes("did not know")), [], "nothing was released");
        });
      });
    });
  });
}
