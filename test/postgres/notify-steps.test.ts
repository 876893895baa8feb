/**
 * LISTEN/NOTIFY for the outcomes the shared engine applies on PostgreSQL's
 * behalf (DESIGN §10): a job advanced to its next step, and a parent made
 * ready by the finish of its last child (no polling), wake their queues on
 * commit, as the driver's own statements do.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, type Stint } from "../../mod.ts";
import type { ClaimedJob } from "../../src/records.ts";
import { uniqueBackend, uniqueName } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { waitFor } from "../support/wait.ts";
import { pgUrl, rawClient, skip } from "./env.ts";

async function withListening(fn: (stint: Stint, wakes: string[]) => Promise<void>): Promise<void> {
  const backend = uniqueBackend();
  const stint = await createStint({ url: pgUrl(), backend });
  try {
    await stint.migrate();
    const wakes: string[] = [];
    const stop = await stint.driver.listen!({ backend, onWake: (queues) => wakes.push(...queues) });
    try {
      await fn(stint, wakes);
    } finally {
      await stop();
    }
  } finally {
    await stint.close();
  }
}

const until = (wakes: string[], queue: string) => waitFor(`a wake-up for ${queue}`, () => wakes.includes(queue));

async function only(stint: Stint, processId: string, queue: string): Promise<ClaimedJob> {
  const jobs = await claim(stint, processId, [queue], 10);
  assert.equal(jobs.length, 1);
  return jobs[0];
}

describe("postgres LISTEN/NOTIFY for multi-step outcomes", { skip }, () => {
  test("an advanced job and a parent woken by its last child wake their queues", () =>
    withListening(async (stint, wakes) => {
      const finish = (processId: string, outcomes: Parameters<Stint["driver"]["jobFinishMany"]>[0]["outcomes"]) =>
        stint.driver.jobFinishMany({ backend: stint.backend, processId, outcomes, preserveFinished: false, now: new Date() });
      const [steps, parents, kids] = [uniqueName("steps"), uniqueName("parents"), uniqueName("kids")];
      const processId = await registerProcess(stint);

      await stint.enqueue("t", {}, { queue: steps });
      await until(wakes, steps);
      const job = await only(stint, processId, steps);
      wakes.length = 0;
      await finish(processId, [{ id: job.id, kind: "advance", workspace: "{}", step: '{"index":1}', claim: job.claim }]);
      await until(wakes, steps);

      const parent = await stint.enqueue("t", {}, { queue: parents });
      const child = await stint.enqueue("t", {}, { queue: kids });
      const raw = rawClient();
      try {
        await raw.unsafe(`UPDATE stint_jobs SET parent_id = $1 WHERE id = $2`, [parent.id, child.id]);
      } finally {
        await raw.end();
      }
      const claimedParent = await only(stint, processId, parents);
      await finish(processId, [{ id: parent.id, kind: "wait", children: [child.id], claim: claimedParent.claim }]);
      assert.equal((await stint.getResult(parent.id)).status, "waiting");
      const claimedChild = await only(stint, processId, kids);
      wakes.length = 0;
      await finish(processId, [
        { id: child.id, kind: "succeeded", returnValue: "1", claim: claimedChild.claim, parentId: parent.id },
      ]);
      await until(wakes, parents);
      assert.equal((await stint.getResult(parent.id)).status, "ready");
    }));
});
