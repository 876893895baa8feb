/** JobWaits: what wakes a wait, what ends it, and what close() does, without a database. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { JobStatus } from "../../src/records.ts";
import { StintError } from "../../src/errors.ts";
import { newJobId } from "../../src/ids.ts";
import type { JobResult } from "../../src/result.ts";
import { JobWaits } from "../../src/wait.ts";

const HOUR = 3_600_000;

/** A job whose status the test sets; `reads` counts the lookups. */
function fakeJob(status: JobStatus) {
  const job = { id: newJobId(), status, reads: 0 };
  const read = (id: string) => {
    job.reads++;
    return Promise.resolve(id === job.id ? { id, status: job.status } as JobResult : null);
  };
  return { job, read };
}

/** Resolves once `n` lookups have been made (each lookup is a promise turn). */
async function readsReach(job: { reads: number }, n: number): Promise<void> {
  while (job.reads < n) await new Promise((resolve) => setTimeout(resolve, 0));
}

describe("JobWaits", () => {
  test("an outcome written in this process wakes the wait at once (the poll is an hour away)", async () => {
    const waits = new JobWaits(HOUR);
    const { job, read } = fakeJob("running");
    const waiting = waits.wait(read, job.id);
    await readsReach(job, 1);
    job.status = "succeeded";
    waits.ended([newJobId()]); // another job's outcome: no wake for this one
    waits.ended([job.id]);
    assert.equal((await waiting).status, "succeeded");
  });

  test("a job waiting for its retry (scheduled again) has not ended", async () => {
    const waits = new JobWaits(HOUR);
    const { job, read } = fakeJob("running");
    let resolved = false;
    const waiting = waits.wait(read, { id: job.id, status: "running" }).then((r) => (resolved = true, r));
    await readsReach(job, 1);
    job.status = "scheduled";
    waits.ended([job.id]);
    await readsReach(job, 2);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(resolved, false);
    job.status = "failed";
    waits.endedAny();
    assert.equal((await waiting).status, "failed");
  });

  test("closeAll rejects every pending wait with STINT_CLOSED", async () => {
    const waits = new JobWaits(HOUR);
    const { job, read } = fakeJob("ready");
    const waiting = [waits.wait(read, job.id), waits.wait(read, job.id, { timeout: "1h" })];
    waits.closeAll();
    for (const w of waiting) {
      await assert.rejects(w, (error: unknown) => error instanceof StintError && error.code === "STINT_CLOSED");
    }
  });
});

describe("JobWaits through a database fault", () => {
  test("a read that fails (the database restarting) does not end the wait; the next read does", async () => {
    const waits = new JobWaits(1);
    const { job, read } = fakeJob("running");
    let failures = 2;
    const flaky = (id: string) => {
      if (failures-- > 0) {
        job.reads++;
        return Promise.reject(new Error("Connection terminated unexpectedly (injected)"));
      }
      return read(id);
    };
    const waiting = waits.wait(flaky, job.id, { timeout: "1h" });
    await readsReach(job, 3);
    job.status = "succeeded";
    waits.ended([job.id]);
    assert.equal((await waiting).status, "succeeded");
  });

  test("a timeout after failed reads carries the last read error as its cause", async () => {
    const waits = new JobWaits(1);
    const injected = new Error("database unreachable (injected)");
    const waiting = waits.wait(() => Promise.reject(injected), newJobId(), { timeout: 50 });
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof StintError && error.code === "STINT_WAIT_TIMEOUT", String(error));
      assert.equal((error as Error).cause, injected);
      return true;
    });
  });
});
