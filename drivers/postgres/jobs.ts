/**
 * The hot path in single PostgreSQL statements: insert, claim and promote each
 * cost one round trip (no BEGIN/COMMIT; a statement is its own transaction),
 * with the same effects as drivers/sql/jobs.ts, which remains the reference —
 * change both together. Batches travel as array literals through `unnest`, so
 * each statement is prepared once per connection whatever the batch size.
 *
 * Jobs with a concurrency policy go through the shared engine: semaphores and
 * blocked jobs are its business, and this file only handles plain jobs.
 */
import type { ClaimedJob, InsertedJob, NewJob, QueueSelector } from "../../src/records.ts";
import { chunks, num, type Param, type SqlAccess, type SqlRunner, str } from "../sql/access.ts";
import { insertJobs, promoteDue, sortClaimed } from "../sql/jobs.ts";
import { armWhere, likePrefix, selectorArms } from "../sql/selectors.ts";
import { numbered } from "./access.ts";
import { pgArray } from "./arrays.ts";
import { notifyExpr, notifyQueues } from "./notify.ts";

/** Jobs per insert statement; a bigger batch is several statements in one transaction. */
const INSERT_CHUNK = 10_000;

/**
 * The batch's columns arrive as arrays; in a uniform batch (one task, queue,
 * priority and due time: single enqueues, and most bulk ones) those four are
 * scalars, which the server parses once instead of once per job (5-10% of a
 * 1,000-job insert). The parameter positions are the same in both.
 */
const INPUT = {
  mixed: `SELECT * FROM unnest($3::uuid[], $4::text[], $5::text[], $6::integer[], $7::text[], $8::bigint[])
      AS i (id, task, queue, priority, payload, scheduled_at)`,
  uniform: `SELECT i.id, $4::text AS task, $5::text AS queue, $6::integer AS priority, i.payload,
      $8::bigint AS scheduled_at FROM unnest($3::uuid[], $7::text[]) AS i (id, payload)`,
};

const insertSql = (notify: boolean, uniform: boolean) => `WITH input AS (
    ${uniform ? INPUT.uniform : INPUT.mixed}
  ), jobs AS (
    INSERT INTO stint_jobs (id, backend, task, queue, priority, payload, status, attempts, scheduled_at, created_at,
      updated_at)
    SELECT id, $1, task, queue, priority, payload, CASE WHEN scheduled_at <= $2 THEN 'ready' ELSE 'scheduled' END, 0,
      scheduled_at, $2, $2
    FROM input
    RETURNING id, queue, priority, scheduled_at, status
  ), ready AS (
    INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
    SELECT id, $1, queue, priority, scheduled_at, $2 FROM jobs WHERE status = 'ready'
  ), scheduled AS (
    INSERT INTO stint_scheduled_executions (job_id, backend, queue, priority, scheduled_at, created_at)
    SELECT id, $1, queue, priority, scheduled_at, $2 FROM jobs WHERE status = 'scheduled'
  )
  SELECT ${notifyExpr("$1", "queue", notify)} FROM (SELECT DISTINCT queue FROM jobs WHERE status = 'ready') AS q`;
const INSERT = {
  notify: { uniform: insertSql(true, true), mixed: insertSql(true, false) },
  quiet: { uniform: insertSql(false, true), mixed: insertSql(false, false) },
};

function isUniform(jobs: NewJob[]): boolean {
  const [first] = jobs;
  const due = first.scheduledAt.getTime();
  return jobs.every((j) =>
    j.task === first.task && j.queue === first.queue && j.priority === first.priority && j.scheduledAt.getTime() === due
  );
}

/** The statement and its parameters for one batch. */
function insertStatement(notify: boolean, backend: string, t: number, jobs: NewJob[]): [string, Param[]] {
  const variants = notify ? INSERT.notify : INSERT.quiet;
  const ids = pgArray(jobs.map((j) => j.id));
  const payloads = pgArray(jobs.map((j) => j.payload));
  if (isUniform(jobs)) {
    const [j] = jobs;
    return [variants.uniform, [backend, t, ids, j.task, j.queue, j.priority, payloads, j.scheduledAt.getTime()]];
  }
  return [variants.mixed, [
    backend,
    t,
    ids,
    pgArray(jobs.map((j) => j.task)),
    pgArray(jobs.map((j) => j.queue)),
    pgArray(jobs.map((j) => j.priority)),
    payloads,
    pgArray(jobs.map((j) => j.scheduledAt.getTime())),
  ]];
}

/**
 * Inserts jobs; a ready job's wake-up is sent by the same statement, so it is
 * delivered when the insert commits (the caller's commit, with `tx`).
 */
export async function insertPlainJobs(
  access: SqlAccess,
  hot: SqlRunner,
  p: { backend: string; jobs: NewJob[]; now: Date; userTx: SqlRunner | null; notify: boolean },
): Promise<InsertedJob[]> {
  const t = p.now.getTime();
  const out = p.jobs.map((j): InsertedJob => ({
    id: j.id,
    status: j.scheduledAt.getTime() <= t ? "ready" : "scheduled",
  }));
  if (p.jobs.some((j) => j.concurrency !== null)) {
    // The shared engine owns concurrency; the wake-up joins its transaction.
    const viaEngine = async (q: SqlRunner) => {
      const inserted = await insertJobs(q, p.backend, p.jobs, p.now, access);
      const ready = p.jobs.filter((_, i) => inserted[i].status === "ready").map((j) => j.queue);
      await notifyQueues(q, p.backend, ready, p.notify);
      return inserted;
    };
    return p.userTx ? viaEngine(p.userTx) : access.transaction(viaEngine);
  }
  const batches = chunks(p.jobs, INSERT_CHUNK);
  const write = async (q: SqlRunner) => {
    for (const batch of batches) await q.query(...insertStatement(p.notify, p.backend, t, batch));
  };
  if (p.userTx) await write(p.userTx);
  else if (batches.length === 1) await hot.query(...insertStatement(p.notify, p.backend, t, p.jobs));
  else await access.transaction(write);
  return out;
}

/**
 * LIMIT goes into the text, not a parameter: a generic plan for `LIMIT $n`
 * assumes a tenth of the table and picks hash joins over sequential scans, so
 * PostgreSQL would plan the statement afresh on every call. A literal gives one
 * cached generic plan per batch size, with index scans.
 */
function literalLimit(limit: number): number {
  return Math.max(1, Math.min(100_000, Math.floor(limit)));
}

/**
 * Each selector's condition on the ready row (drivers/sql/selectors.ts), with
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
 * them anyway (drivers/sql/jobs.ts).
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
      SELECT j.id, j.task, j.queue, j.priority, j.payload, j.attempts + 1 AS attempt, j.created_at FROM stint_jobs j
      WHERE j.id = ANY (ARRAY(SELECT job_id FROM ready))
    ), claimed AS (
      INSERT INTO stint_claimed_executions (job_id, backend, process_id, attempt, started_at, created_at)
      SELECT id, ?, ?, attempt, ?, ? FROM jobs
    )
    SELECT json_agg(json_build_array(id, task, queue, priority, payload, attempt, created_at))::text AS jobs
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

export async function claimReadyJobs(
  hot: SqlRunner,
  p: { backend: string; processId: string; selectors: QueueSelector[]; limit: number; now: Date },
): Promise<ClaimedJob[]> {
  if (!(p.limit >= 1)) return [];
  const rows = await hot.query(...claimStatement(p));
  const text = rows[0]?.jobs;
  if (typeof text !== "string") return [];
  const jobs = (JSON.parse(text) as ClaimRow[]).map(([id, task, queue, priority, payload, attempt, createdAt]) => ({
    id,
    task,
    queue,
    priority,
    payload,
    attempt,
    enqueuedAt: new Date(createdAt),
  }));
  return sortClaimed(jobs, p.selectors);
}

/**
 * The claimed jobs come back as one JSON array of arrays: decoding one text
 * value beats decoding seven columns per row, which was the biggest single
 * cost of a fast drain in JavaScript.
 */
type ClaimRow = [string, string, string, number, string, number, number];

const promoteSql = (limit: number, notify: boolean) =>
  `WITH due AS MATERIALIZED (
    SELECT s.job_id FROM stint_scheduled_executions s JOIN stint_jobs j ON j.id = s.job_id
    WHERE s.backend = $1 AND s.scheduled_at <= $2 AND j.concurrency_key IS NULL
    ORDER BY s.scheduled_at, s.priority DESC, s.job_id LIMIT ${literalLimit(limit)} FOR UPDATE OF s SKIP LOCKED
  ), gone AS (
    DELETE FROM stint_scheduled_executions s USING due WHERE s.job_id = due.job_id
    RETURNING s.job_id, s.queue, s.priority, s.scheduled_at
  ), ready AS (
    INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
    SELECT job_id, $1, queue, priority, scheduled_at, $2 FROM gone
  ), jobs AS (
    UPDATE stint_jobs j SET status = 'ready', updated_at = $2 FROM gone WHERE j.id = gone.job_id
  )
  SELECT queue, count(*) AS n, NULL AS keyed, ${notifyExpr("$1", "queue", notify)} AS notified FROM gone GROUP BY queue
  UNION ALL
  SELECT NULL, NULL, EXISTS (
    SELECT 1 FROM (
      SELECT s.job_id FROM stint_scheduled_executions s WHERE s.backend = $1 AND s.scheduled_at <= $2
      ORDER BY s.scheduled_at, s.priority DESC, s.job_id LIMIT ${2 * literalLimit(limit)}
    ) AS d JOIN stint_jobs j ON j.id = d.job_id
    WHERE j.concurrency_key IS NOT NULL
  ), NULL`;

/**
 * Due scheduled jobs to ready in one statement that also sends their wake-ups.
 * Due jobs with a concurrency policy go through the shared engine; the check
 * for them looks at the next 2 × limit due rows only, which covers every due
 * row left when this batch came back short (a full batch means "call again").
 */
export async function promoteDueJobs(
  access: SqlAccess,
  hot: SqlRunner,
  p: { backend: string; limit: number; now: Date; notify: boolean },
): Promise<{ count: number; queues: string[] }> {
  if (!(p.limit >= 1)) return { count: 0, queues: [] };
  const rows = await hot.query(promoteSql(p.limit, p.notify), [p.backend, p.now.getTime()]);
  let count = 0;
  const queues = new Set<string>();
  let keyed = false;
  for (const r of rows) {
    if (r.queue === null) keyed = r.keyed === true;
    else {
      count += num(r.n);
      queues.add(str(r.queue));
    }
  }
  if (keyed && count < p.limit) {
    const more = await promoteDue(access, { ...p, limit: p.limit - count });
    if (more.count > 0) await notifyQueues(access, p.backend, more.queues, p.notify);
    count += more.count;
    for (const q of more.queues) queues.add(q);
  }
  return { count, queues: [...queues] };
}
