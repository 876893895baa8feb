/**
 * The claim's plan on PostgreSQL: for every kind of selector list, each
 * selector's rows are read down an index in (priority, age) order and the scan
 * stops at LIMIT. A Sort node in the plan means every ready row the selectors
 * match is read and sorted on each claim: that was the case for a worker on a
 * named queue (60 ms a claim at 50,000 ready jobs) and for any list of two or
 * more selectors. The plans are the generic ones the hot pool caches, made
 * with its settings, on a ready table large enough for a sort to be the
 * planner's honest choice.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, defineTask } from "../../mod.ts";
import { claimStatement } from "../../drivers/postgres/jobClaim.ts";
import type { QueueSelector } from "../../src/records.ts";
import { freshDatabaseSkip, rawClient, withFreshDatabase } from "./env.ts";
import { uniqueBackend } from "../support/harness.ts";
import { registerProcess } from "../support/driver.ts";

const work = defineTask("plan_work", (_p: { i: number }) => {});

interface PlanNode {
  "Node Type": string;
  Plans?: PlanNode[];
}

function nodeTypes(node: PlanNode): string[] {
  return [node["Node Type"], ...(node.Plans ?? []).flatMap(nodeTypes)];
}

const CASES: Array<[string, QueueSelector[]]> = [
  ["one named queue", [{ kind: "exact", queue: "mail" }]],
  ["every queue", [{ kind: "all" }]],
  ["two named queues", [{ kind: "exact", queue: "urgent" }, { kind: "exact", queue: "mail" }]],
  ["a named queue, then everything else", [{ kind: "exact", queue: "urgent" }, { kind: "all" }]],
  ["a prefix", [{ kind: "prefix", prefix: "ma" }]],
  ["named, prefix, everything", [{ kind: "exact", queue: "urgent" }, { kind: "prefix", prefix: "ma" }, {
    kind: "all",
  }]],
];

const freshSkip = await freshDatabaseSkip();

/** The generic plan's node types for the claim of `selectors`, made with the hot pool's settings. */
async function claimPlan(url: string, backend: string, selectors: QueueSelector[]): Promise<string[]> {
  const [text, params] = claimStatement({ backend, processId: "p", selectors, limit: 255, now: new Date() });
  const sql = rawClient(url);
  try {
    return await sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL plan_cache_mode = force_generic_plan`);
      await tx.unsafe(`SET LOCAL enable_seqscan = off`);
      await tx.unsafe(`SET LOCAL enable_bitmapscan = off`);
      const types = params.map((v) => (typeof v === "number" ? "bigint" : "text"));
      await tx.unsafe(`PREPARE claim_plan (${types.join(", ")}) AS ${text}`);
      const values = params.map((v) => (typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`));
      const [row] = await tx.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE claim_plan (${values.join(", ")})`);
      await tx.unsafe(`DEALLOCATE claim_plan`);
      return nodeTypes((row["QUERY PLAN"] as Array<{ Plan: PlanNode }>)[0].Plan);
    });
  } finally {
    await sql.end();
  }
}

describe("postgres claim plans", () => {
  test("every kind of selector list reads its rows in index order, with no sort", { skip: freshSkip }, () =>
    withFreshDatabase(async (url) => {
      const backend = uniqueBackend();
      const stint = await createStint({ url, backend, tasks: [work] });
      try {
        await stint.migrate();
        for (let i = 0; i < 20; i++) {
          await stint.enqueueAll(
            Array.from({ length: 1000 }, (_, k) => ({
              task: work,
              payload: { i: i * 1000 + k },
              options: { queue: k % 3 === 0 ? "mail" : "bulk", priority: k % 5 },
            })),
          );
        }
        await stint.enqueue(work, { i: -1 }, { queue: "urgent" });
        const sql = rawClient(url);
        try {
          await sql.unsafe(`ANALYZE stint_ready_executions`);
          await sql.unsafe(`ANALYZE stint_pauses`);
        } finally {
          await sql.end();
        }

        for (const [name, selectors] of CASES) {
          const nodes = await claimPlan(url, backend, selectors);
          assert.ok(nodes.includes("Index Scan"), `${name}: no index scan in ${nodes.join(", ")}`);
          assert.ok(!nodes.includes("Sort"), `${name}: a Sort in the claim's plan: ${nodes.join(", ")}`);
        }

        // The arms keep the claim's order: selector, then priority, then age.
        const selectors: QueueSelector[] = [{ kind: "exact", queue: "urgent" }, { kind: "exact", queue: "mail" }];
        // A claim inserts nothing for a process without a row: register one.
        const processId = await registerProcess(stint, "plan");
        const claimed = await stint.driver.jobClaim({ backend, processId, selectors, limit: 5, now: new Date() });
        assert.deepEqual(claimed.map((j) => [j.queue, j.priority]), [
          ["urgent", 0],
          ["mail", 4],
          ["mail", 4],
          ["mail", 4],
          ["mail", 4],
        ]);
        const mail = claimed.slice(1).map((j) => j.id);
        assert.deepEqual(mail, [...mail].sort(), "oldest first within a priority");
      } finally {
        await stint.close();
      }
    }));
});
