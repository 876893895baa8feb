/**
 * `prefetch`: a worker claims ahead of its free slots and holds the extra jobs
 * locally. They never run beyond `concurrency`, they are released to ready at
 * stop, and a cancelled one never starts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask } from "../../mod.ts";
import { withStint } from "../support/harness.ts";
import { targets } from "../support/targets.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("worker prefetch", () => {
      test("prefetched jobs run one slot at a time, and unstarted ones go back to ready at stop", () => {
        let running = 0;
        let most = 0;
        const started: string[] = [];
        const gate = { open: false };
        const task = defineTask("prefetched", async (_: null, ctx) => {
          started.push(ctx.jobId);
          running++;
          most = Math.max(most, running);
          while (!gate.open && !ctx.signal.aborted) await new Promise((r) => setTimeout(r, 5));
          running--;
        });
        return withStint(target, {
          tasks: [task],
          workers: [{ concurrency: 1, prefetch: 4, pollingInterval: "20ms" }],
          shutdownTimeout: "200ms",
        }, async (stint) => {
          const handles = await stint.enqueueAll(Array.from({ length: 8 }, () => ({ task, payload: null })));
          const supervisor = await stint.start({ mode: "async" });
          // One runs, four wait in the worker's buffer: five claimed (status running), three ready.
          await waitFor("five claims", async () => (await stint.queue("default").size()) === 3);
          assert.equal(started.length, 1);
          // A buffered job: claimed (running in the database) but not started.
          const statuses = await Promise.all(handles.map((h) => stint.getResult(h.id)));
          const buffered = statuses.filter((r) => r.status === "running" && !started.includes(r.id));
          assert.equal(buffered.length, 4, "four jobs wait in the buffer");
          const cancelled = buffered[0].id;
          await stint.cancel(cancelled);
          await waitForStatus(stint, cancelled, "cancelled", 3000);
          gate.open = true;
          await waitFor("every other job to succeed", async () => {
            const all = await Promise.all(handles.map((h) => stint.getResult(h.id).then((r) => r.status)));
            return all.filter((s) => s === "succeeded").length === 7;
          }, { timeout: 5000 });
          assert.equal(most, 1, "never more than concurrency at once");
          assert.ok(!started.includes(cancelled), "the cancelled buffered job never started");
          gate.open = false;
          const more = await stint.enqueueAll(Array.from({ length: 4 }, () => ({ task, payload: null })));
          await waitFor("one of them to start", () => more.some((h) => started.includes(h.id)));
          await supervisor.stop();
          for (const h of more.filter((m) => !started.includes(m.id))) {
            const r = await stint.getResult(h.id);
            assert.equal(r.status, "ready", `${h.id} is back to ready`);
            assert.equal(r.attempts, 0, "a released attempt is not counted");
          }
        });
      });

      test("prefetch claims overlap two at a time where the driver allows it; every job runs once, and a failed claim loses none", () => {
        const runs = new Map<string, number>();
        const task = defineTask("prefetched_many", (_: null, ctx) => {
          runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
        });
        return withStint(target, {
          tasks: [task],
          workers: [{ concurrency: 4, prefetch: 400, pollingInterval: "20ms" }],
          allowRuntimeErrors: true,
        }, async (stint, runtimeErrors) => {
          const handles = await stint.enqueueAll(Array.from({ length: 1500 }, () => ({ task, payload: null })));
          // Watch the claims, and fail the second one before it reaches the database.
          const driver = stint.driver;
          const claim = driver.jobClaim.bind(driver);
          let calls = 0;
          let inFlight = 0;
          let most = 0;
          let overlapped = 0;
          let biggest = 0;
          driver.jobClaim = async (p) => {
            if (++calls === 2) throw new Error("injected: a claim failed");
            if (inFlight > 0) overlapped++;
            biggest = Math.max(biggest, p.limit);
            inFlight++;
            most = Math.max(most, inFlight);
            try {
              return await claim(p);
            } finally {
              inFlight--;
            }
          };
          await stint.start({ mode: "async" });
          await waitFor(
            "every job to run",
            async () => (await stint.queue("default").size()) === 0 && runs.size === 1500,
            {
              timeout: 4000,
            },
          );
          for (const h of [handles[0], handles[700], handles[1499]]) {
            await waitForStatus(stint, h.id, "succeeded", 3000);
          }
          assert.deepEqual([...new Set(runs.values())], [1], "no job ran twice");
          if (driver.capabilities.overlappingClaims) {
            // Pipelined: two claims of half the capacity each may be in flight.
            assert.ok(overlapped > 0, `claims overlapped ${overlapped} time(s)`);
            assert.equal(biggest, 202, "each claim asks for half of concurrency + prefetch");
          } else {
            assert.equal(overlapped, 0, "one claim at a time");
            assert.equal(biggest, 404, "the first claim asks for concurrency + prefetch");
          }
          assert.ok(most <= 2, `at most two claims in flight (saw ${most})`);
          assert.equal(runtimeErrors.filter((e) => e.context.operation === "claim").length, 1);
          assert.equal(runtimeErrors.length, 1);
        });
      });
    });
  });
}
