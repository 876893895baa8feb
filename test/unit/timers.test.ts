/**
 * Durations above what setTimeout holds (2^31-1 ms, about 24.8 days): a task
 * timeout that long is honoured with a chained timer; settings that drive an
 * interval or a poll are refused with a ConfigError naming the key.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defineTask, EnqueueError, parseDuration } from "../../mod.ts";
import { resolveConfig } from "../../src/config.ts";
import type { ClaimedJob } from "../../src/records.ts";
import { executeJob, JobAbort } from "../../src/runtime/execute.ts";
import { longTimeout, MAX_TIMER_MS } from "../../src/timers.ts";

const job: ClaimedJob = {
  id: "0190a000-0000-7000-8000-000000000001",
  task: "t",
  queue: "default",
  priority: 0,
  payload: "null",
  attempt: 1,
  enqueuedAt: new Date(0),
  claim: { attempt: 1, startedAt: 0 },
};

describe("long durations", () => {
  test("a 30-day task timeout does not fire at once: the job succeeds", async () => {
    // A plain setTimeout of 30 days fires after 1 ms, long before this handler settles.
    const task = defineTask("t", async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return "done";
    }, { timeout: "30d" });
    assert.equal(task.timeoutMs, 30 * 86_400_000);
    const outcome = await executeJob(job, task, new JobAbort());
    assert.deepEqual(outcome, { id: job.id, kind: "succeeded", returnValue: '"done"' });
  });

  test("longTimeout fires for a short delay and not after clear()", async () => {
    const fired: string[] = [];
    longTimeout(() => fired.push("short"), 1);
    longTimeout(() => fired.push("cleared"), 1).clear();
    const long = longTimeout(() => fired.push("long"), MAX_TIMER_MS + 1000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    long.clear();
    assert.deepEqual(fired, ["short"]);
  });

  test("settings that drive a timer are refused above 2^31-1 ms, naming the key", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ processHeartbeatInterval: "30d" }, /^processHeartbeatInterval:/],
      [{ shutdownTimeout: "25d" }, /^shutdownTimeout:/],
      [{ statementTimeout: MAX_TIMER_MS + 1 }, /^statementTimeout:/],
      [{ isolateWatchdogTimeout: "30d" }, /^isolateWatchdogTimeout:/],
      [{ isolateAbortGrace: "30d" }, /^isolateAbortGrace:/],
      [{ workers: [{ pollingInterval: "30d" }] }, /^workers\[0\]\.pollingInterval:/],
      [{ dispatchers: [{ pollingInterval: "30d" }] }, /^dispatchers\[0\]\.pollingInterval:/],
      [{ dispatchers: [{ concurrencyMaintenanceInterval: "30d" }] }, /^dispatchers\[0\]\.concurrencyMaintenanceInterval:/],
      [{ scheduler: { pollingInterval: "30d" } }, /^scheduler\.pollingInterval:/],
    ];
    for (const [options, pattern] of cases) {
      assert.throws(() => resolveConfig(options), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${JSON.stringify(options)}: ${String(error)}`);
        assert.match(error.message, pattern);
        assert.match(error.message, /24\.8 days/);
        return true;
      });
    }
    // Exactly the limit is fine, and ages (not timers) may be longer.
    // (with an alive threshold that fits the drain rule: shutdownTimeout + heartbeat < threshold)
    const fits = { processHeartbeatInterval: MAX_TIMER_MS, processAliveThreshold: "30d" };
    assert.equal(resolveConfig(fits).processHeartbeatIntervalMs, MAX_TIMER_MS);
    assert.equal(resolveConfig({ clearFinishedJobsAfter: "3650d" }).clearFinishedJobsAfterMs, 3650 * 86_400_000);
  });

  test("any Duration past half the Date range is refused (a time plus it would be an Invalid Date)", () => {
    for (const value of [1e20, "100000000000d", 4.32e15 + 1]) {
      assert.throws(() => parseDuration(value, "x"), ConfigError, String(value));
    }
    assert.throws(() => parseDuration(1e20, "delay", EnqueueError), EnqueueError);
    assert.throws(() => resolveConfig({ clearFinishedJobsAfter: 1e20 }), /clearFinishedJobsAfter/);
    assert.throws(() => defineTask("t", () => null, { timeout: 1e20 }), /task t: timeout/);
    assert.equal(parseDuration(4.32e15, "x"), 4.32e15);
  });
});
