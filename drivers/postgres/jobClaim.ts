/**
 * The claim in one PostgreSQL statement (one round trip), with the same effects
 * as the shared engine's jobClaim (drivers/engine/jobClaim.ts); the contract
 * suite runs on both.
 */
import type { ClaimedJob, QueueSelector } from "../../src/records.ts";
import type { Param, SqlRunner } from "../engine/access.ts";
import { deliveryOf, sortClaimed } from "../engine/job-rows.ts";
import { armWhere, likePrefix, selectorArms } from "../engine/selectors.ts";
import { literalLimit, numbered } from "./access.ts";

/**
 * Each selector's condition on the ready row (drivers/engine/selectors.ts), with
 * the pause check. For an exact queue that check does not refer to the row: it
 * is made once per claim. Written per row, as "*" and prefixes need it, it let
 * the planner join the pauses by hash and then sort every ready row of the
 * queue to take the first few (60 ms a claim on a 50,000-job queue, against
 * under 1 ms walking (backend, queue, priority, job_id) in order and stopping).
 */
function armConditions(selectors: QueueSelector[], backend: string): Array<{ where: string; params: Param[] }> {
  return selectorArms(selectors, likePrefix).map((arm) => {
    const where = armWhere(arm);
    if (arm.selector.kind === "exact") {
      return {
        where: `${where.sql} AND NOT EXISTS (SELECT 1 FROM stint_pauses p WHERE p.backend = ? AND p.queue = ?)`,
        params: [...where.params, backend, arm.selector.queue],
      };
    }
    return {
      where: `${where.sql} AND NOT EXISTS (SELECT 1 FROM stint_pauses p WHERE p.backend = r.backend AND p.queue = r.queue)`,
      params: where.params,
    };
  });
}

/**
 * One statement: lock the next ready rows selector by selector (each arm a
 * scan in (priority, age) order that stops at LIMIT; a later arm runs only if
 * the earlier ones came back short, and locks only what the claim still
 * needs), skip rows other claimers hold, delete them from ready, and record
 * the claims with the attempt each starts. Paused queues are excluded in the
 * same snapshot. The jobs' rows are only read: writing them (status,
 * attempts) took half of the claim's time, and the finish writes or deletes
 * them anyway (drivers/engine/job-rows.ts).
 *
 * A process whose row is gone claims nothing (there is no foreign key here to
 * refuse it): each arm checks the row by primary key, an uncorrelated EXISTS
 * that PostgreSQL evaluates once per arm as a one-time filter before scanning.
 */
export function claimStatement(
  p: { backend: string; processId: string; selectors: QueueSelector[]; limit: number; now: Date },
): [string, Param[]] {
  const limit = literalLimit(p.limit);
  const list = armConditions(p.selectors, p.backend);
  const ctes = list.map((arm, i) =>
    `a${i} AS (
      SELECT r.ctid AS rid, r.job_id FROM stint_ready_executions r
      WHERE r.backend = ? AND EXISTS (SELECT 1 FROM stint_processes sp WHERE sp.id = ? AND sp.backend = ?)
        AND ${arm.where}
      ORDER BY r.priority DESC, r.job_id LIMIT ${limit} FOR UPDATE OF r SKIP LOCKED
    )`
  );
  const union = list.map((_, i) => `SELECT rid, job_id FROM a${i}`).join(" UNION ALL ");
  // The delete and the read address rows by ctid / id arrays: with stale statistics (the
  // ready table analyzed while empty) a join was planned as a full index scan per row.
  const statement = numbered(`WITH ${ctes.join(", ")}, picked AS MATERIALIZED (
      ${list.length === 1 ? union : `SELECT rid, job_id FROM (${union}) AS arms LIMIT ${limit}`}
    ), ready AS (
      DELETE FROM stint_ready_executions r WHERE r.ctid = ANY (ARRAY(SELECT rid FROM picked)) RETURNING r.job_id
    ), jobs AS MATERIALIZED (
      SELECT j.id, j.task, j.queue, j.priority, j.payload, j.attempts + 1 AS attempt, j.created_at, j.workspace, j.step,
        j.parent_id, j.delivery
      FROM stint_jobs j
      WHERE j.id = ANY (ARRAY(SELECT job_id FROM ready))
    ), claimed AS (
      INSERT INTO stint_claimed_executions (job_id, backend, process_id, attempt, started_at, created_at)
      SELECT id, ?, ?, attempt, ?, ? FROM jobs
    )
    SELECT json_agg(json_build_array(id, task, queue, priority, payload, attempt, created_at, workspace, step,
      parent_id, delivery))::text AS jobs
    FROM jobs`);
  const t = p.now.getTime();
  return [statement, [
    ...list.flatMap((arm) => [p.backend, p.processId, p.backend, ...arm.params]),
    p.backend,
    p.processId,
    t,
    t,
  ]];
}

export async function jobClaim(
  hot: SqlRunner,
  p: { backend: string; processId: string; selectors: QueueSelector[]; limit: number; now: Date },
): Promise<ClaimedJob[]> {
  if (!(p.limit >= 1)) return [];
  const rows = await hot.query(...claimStatement(p));
  const text = rows[0]?.jobs;
  if (typeof text !== "string") return [];
  const startedAt = p.now.getTime();
  const jobs = (JSON.parse(text) as ClaimRow[]).map((
    [id, task, queue, priority, payload, attempt, createdAt, workspace, step, parentId, delivery],
  ): ClaimedJob => ({
    id,
    task,
    queue,
    priority,
    payload,
    attempt,
    enqueuedAt: new Date(createdAt),
    claim: { attempt, startedAt },
    workspace,
    step,
    parentId,
    delivery: deliveryOf(delivery),
  }));
  return sortClaimed(jobs, p.selectors);
}

/**
 * The claimed jobs come back as one JSON array of arrays: decoding one text
 * value beats decoding ten columns per row, which was the biggest single
 * cost of a fast drain in JavaScript. Workspace, step and parent are null
 * for a plain job, delivery for an at-least-once one.
 */
type ClaimRow = [
  string,
  string,
  string,
  number,
  string,
  number,
  number,
  string | null,
  string | null,
  string | null,
  string | null,
];
