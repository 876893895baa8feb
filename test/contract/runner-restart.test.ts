/**
 * A runner whose loop crashes (here: a driver answering a claim with garbage)
 * is restarted with backoff, fires its `.exit` hook, reports to onRuntimeError,
 * and goes on working once the cause is gone; a stop ends the restarts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createStint, defineTask, type Driver } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

const libsql = targets.find((t) => t.name === "libsql")!;

test("a crashed worker loop is restarted with backoff and fires worker.exit", async () => {
  const url = await libsql.url();
  const task = defineTask("restarted", (n: number) => n + 1);
  const base = await createStint({ url });
  await base.migrate();
  let garbage = 3;
  // The real driver, except that the first claims answer with something that is not a list.
  const driver: Driver = {
    ...base.driver,
    jobClaim: async (p) => (garbage-- > 0 ? (null as never) : await base.driver.jobClaim(p)),
  };
  const exits: number[] = [];
  const errors: string[] = [];
  const stint = await createStint({
    url,
    driver,
    tasks: [task],
    workers: [{ pollingInterval: "20ms" }],
    onRuntimeError: (error, context) => errors.push(`${context.operation}: ${(error as Error).message}`),
  });
  stint.on("worker.exit", () => void exits.push(Date.now()));
  try {
    const job = await stint.enqueue(task, 41);
    const supervisor = await stint.start({ mode: "async" });
    await waitForStatus(stint, job.id, "succeeded", 5000);
    assert.equal((await stint.getResult(job.id)).returnValue, 42);
    assert.equal(exits.length, 3, "one exit per crash");
    assert.ok(errors.filter((e) => e.startsWith("worker loop")).length === 3, errors.join("\n"));
    // Restarted at once after the first crash, then after 100 ms (and 200 ms before the success).
    const gaps = [exits[1] - exits[0], exits[2] - exits[1]];
    assert.ok(gaps[1] >= 90 && gaps[1] > gaps[0], `backoff grows (gaps ${gaps.join(", ")} ms)`);
    await supervisor.stop();
    garbage = 100;
    await waitFor("no restart after stop", () => new Promise((r) => setTimeout(() => r(true), 300)));
    assert.equal(exits.length, 3, "a stopped runner is not restarted");
  } finally {
    await stint.close();
    await base.close();
  }
});
