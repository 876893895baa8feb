/** stint.queue(name) and stint.queues(): size, latency, pause/resume, clear (SEMANTICS 21). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, JobNotFoundError } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { queueNames, withDatabase, withStint, withStintAt } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { waitFor } from "../support/wait.ts";

const HOUR = 3_600_000;
const MINUTE = 60_000;

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("queue(name)", () => {
      test("size counts only ready jobs of that queue", () =>
        withStint(target, {}, async (stint) => {
          const q = stint.queue("sized");
          assert.equal(q.name, "sized");
          assert.equal(await q.size(), 0);
          await stint.enqueueAll([1, 2, 3].map((n) => ({ task: "t", payload: n, options: { queue: "sized" } })));
          await stint.enqueue("t", null, { queue: "sized", delay: "1h" });
          await stint.enqueue("t", null, { queue: "elsewhere" });
          assert.equal(await q.size(), 3);
          await claim(stint, await registerProcess(stint), ["sized"], 1);
          assert.equal(await q.size(), 2, "a running job is no longer waiting");
        }));

      test("latency is 0 for an empty queue and grows with the oldest ready job's wait", () =>
        withStint(target, {}, async (stint) => {
          const q = stint.queue("lat");
          assert.equal(await q.latency(), 0);
          await stint.enqueue("t", null, { queue: "lat", runAt: new Date(Date.now() - 2 * HOUR) });
          await stint.enqueue("t", null, { queue: "lat" });
          const latency = await q.latency();
          assert.ok(latency >= 7199 && latency < 7300, `latency ${latency} is about two hours, in seconds`);
          await stint.enqueue("t", null, { queue: "fresh" });
          await waitFor("a fresh job to have some latency", async () => (await stint.queue("fresh").latency()) > 0);
        }));

      test("paused time is not latency: resume shifts the clock by the pause", () =>
        withStint(target, {}, async (stint) => {
          const q = stint.queue("paused_lat");
          // Ready since two hours ago; paused 90 minutes ago; resumed now → 30 minutes of latency.
          await stint.enqueue("t", null, { queue: "paused_lat", runAt: new Date(Date.now() - 2 * HOUR) });
          // Became ready during the pause (an hour ago): its clock starts at the resume.
          await stint.enqueue("t", null, { queue: "paused_lat", runAt: new Date(Date.now() - HOUR) });
          await stint.driver.queuePause({
            backend: stint.backend,
            queue: "paused_lat",
            now: new Date(Date.now() - 90 * MINUTE),
          });
          assert.equal(await q.isPaused(), true);
          await q.resume();
          assert.equal(await q.isPaused(), false);
          const latency = await q.latency();
          assert.ok(latency >= 1790 && latency < 1900, `latency ${latency} should be about 30 minutes`);
          // The job that became ready during the pause has waited only since the resume.
          const processId = await registerProcess(stint);
          await claim(stint, processId, ["paused_lat"], 1);
          assert.ok((await q.latency()) < 60, "the second job's clock restarted at the resume");
        }));

      test("resume shifts latency for its own backend only", () =>
        withDatabase(target, async (url) => {
          await withStintAt(url, {}, async (a) => {
            await withStintAt(url, {}, async (b) => {
              const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
              await a.enqueue("t", null, { queue: "shared", runAt: twoHoursAgo });
              await b.enqueue("t", null, { queue: "shared", runAt: twoHoursAgo });
              const pausedAt = new Date(Date.now() - 90 * MINUTE);
              await a.driver.queuePause({ backend: a.backend, queue: "shared", now: pausedAt });
              await b.driver.queuePause({ backend: b.backend, queue: "shared", now: pausedAt });
              await a.queue("shared").resume();
              assert.equal(await b.queue("shared").isPaused(), true, "b's pause is untouched");
              const la = await a.queue("shared").latency();
              const lb = await b.queue("shared").latency();
              assert.ok(la >= 1790 && la < 1900, `a's latency ${la} is shifted`);
              assert.ok(lb >= 7199 && lb < 7300, `b's latency ${lb} is not shifted`);
            });
          });
        }));

      test("pause and resume are idempotent and isPaused reports them", () =>
        withStint(target, {}, async (stint) => {
          const q = stint.queue("pp");
          assert.equal(await q.isPaused(), false);
          await q.pause();
          await q.pause();
          assert.equal(await q.isPaused(), true);
          assert.equal(await stint.queue("other").isPaused(), false);
          await q.resume();
          await q.resume();
          assert.equal(await q.isPaused(), false);
        }));

      test("clear removes only the ready jobs of that queue and backend, and returns how many", () =>
        withDatabase(target, async (url) => {
          await withStintAt(url, {}, async (stint) => {
            await withStintAt(url, {}, async (neighbour) => {
              const ready = await stint.enqueueAll(
                [1, 2, 3, 4].map((n) => ({ task: "t", payload: n, options: { queue: "c" } })),
              );
              const scheduled = await stint.enqueue("t", null, { queue: "c", delay: "1h" });
              const other = await stint.enqueue("t", null, { queue: "c2" });
              const theirs = await neighbour.enqueue("t", null, { queue: "c" });
              const [running] = await claim(stint, await registerProcess(stint), ["c"], 1);
              assert.equal(running.id, ready[0].id);

              assert.equal(await stint.queue("c").clear(), 3);
              assert.equal(await stint.queue("c").size(), 0);
              assert.equal(await stint.queue("c").clear(), 0, "nothing left to clear");
              for (const h of ready.slice(1)) {
                await assert.rejects(() => stint.getResult(h.id), JobNotFoundError);
              }
              assert.equal((await stint.getResult(running.id)).status, "running");
              assert.equal((await stint.getResult(scheduled.id)).status, "scheduled");
              assert.equal((await stint.getResult(other.id)).status, "ready");
              assert.equal((await neighbour.getResult(theirs.id)).status, "ready");
              assert.equal(await neighbour.queue("c").size(), 1);
            });
          });
        }));

      test("clear works on more jobs than one batch", () =>
        withStint(target, {}, async (stint) => {
          await stint.enqueueAll(
            Array.from({ length: 1234 }, (_, i) => ({ task: "t", payload: i, options: { queue: "big" } })),
          );
          assert.equal(await stint.queue("big").clear(), 1234);
          assert.equal(await stint.queue("big").size(), 0);
        }));

      test("a bad queue name is a ConfigError", () =>
        withStint(target, {}, (stint) => {
          for (const name of ["", " x", "x".repeat(201), 5 as unknown as string]) {
            assert.throws(() => stint.queue(name), ConfigError);
          }
          return Promise.resolve();
        }));
    });

    describe("queues()", () => {
      test("lists every queue with waiting or running jobs or a pause, by name", () =>
        withStint(target, {}, async (stint) => {
          assert.deepEqual(await queueNames(stint), []);
          await stint.enqueue("t", null, { queue: "zeta" });
          await stint.enqueue("t", null, { queue: "alpha", delay: "1h" });
          await stint.enqueue("t", null, { queue: "mid" });
          await stint.queue("paused_only").pause();
          await claim(stint, await registerProcess(stint), ["mid"], 1);
          assert.deepEqual(await queueNames(stint), ["alpha", "mid", "paused_only", "zeta"]);
          const handles = await stint.queues();
          assert.equal(await handles.find((h) => h.name === "zeta")!.size(), 1);
          assert.equal(await handles.find((h) => h.name === "paused_only")!.isPaused(), true);
        }));
    });
  });
}
