/**
 * Fan-out at scale (issue 14): 1,000 parents each spawning 5 children and
 * joining them all finish, with every child joined by its own parent. On
 * libSQL, PostgreSQL and MariaDB, in async mode with a few busy workers.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stint } from "../../mod.ts";
import { scenarioTargets, targets } from "../support/targets.ts";
import { allJobs, withSteps } from "../support/steps.ts";
import { waitFor } from "../support/wait.ts";

const PARENTS = 1000;
const CHILDREN = 5;

/** Jobs not yet ended, over every queue. */
async function open(stint: Stint): Promise<number> {
  const infos = await stint.driver.queueList({ backend: stint.backend });
  return infos.reduce((n, q) => n + q.ready + q.scheduled + q.blocked + q.running + (q.waiting ?? 0), 0);
}

for (const target of scenarioTargets(targets, "narrow")) {
  describe(target.name, { skip: target.skip }, () => {
    test(
      `${PARENTS} parents each spawning ${CHILDREN} children all finish, every child joined`,
      { timeout: 180_000 },
      () =>
        withSteps(target, {
          workers: [
            { concurrency: 40, pollingInterval: "50ms" },
            { concurrency: 40, pollingInterval: "50ms" },
          ],
          dispatchers: [{ pollingInterval: "100ms" }],
          mode: "async",
        }, async (stint) => {
          const parents = await stint.enqueueAll(
            Array.from({ length: PARENTS }, () => ({ task: "fan", payload: { n: CHILDREN } })),
          );
          let left = -1;
          try {
            await waitFor("every job to end", async () => (left = await open(stint)) === 0, {
              timeout: 150_000,
              interval: 250,
            });
          } catch (error) {
            throw new Error(`${(error as Error).message}; ${left} not ended`);
          }
          const jobs = await allJobs(stint);
          assert.equal(jobs.length, PARENTS * (CHILDREN + 1));
          const byId = new Map(jobs.map((j) => [j.id, j]));
          const childrenOf = new Map<string, string[]>();
          for (const j of jobs) {
            assert.equal(j.status, "succeeded", `${j.task} ${j.id}`);
            if (j.task === "leaf") {
              assert.ok(j.parentId && byId.get(j.parentId)?.task === "fan", `leaf ${j.id} has a fan parent`);
              childrenOf.set(j.parentId!, [...childrenOf.get(j.parentId!) ?? [], j.id]);
            } else {
              assert.equal(j.parentId, null);
            }
          }
          for (const { id } of parents) {
            const r = await stint.getResult(id);
            const joined = r.returnValue as Array<[string, string, { i: number; parentId: string }]>;
            assert.equal(joined.length, CHILDREN, `parent ${id}`);
            assert.deepEqual(
              joined.map(([cid]) => cid).sort(),
              (childrenOf.get(id) ?? []).sort(),
              `parent ${id} joined its own children`,
            );
            for (const [, status, value] of joined) {
              assert.equal(status, "succeeded");
              assert.equal(value.parentId, id);
            }
            assert.deepEqual(joined.map(([, , v]) => v.i), [0, 1, 2, 3, 4]);
          }
        }),
    );
  });
}
