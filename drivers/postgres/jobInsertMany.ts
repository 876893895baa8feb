/**
 * Inserting jobs in single PostgreSQL statements: one round trip (no
 * BEGIN/COMMIT; a statement is its own transaction), with the same effects as
 * the shared engine's jobInsertMany (drivers/engine/jobInsertMany.ts). The
 * contract suite runs on both (test/support/targets.ts, "postgres-engine"), so
 * the two cannot drift apart unnoticed. Batches travel as array literals
 * through `unnest`, so each statement is prepared once per connection whatever
 * the batch size.
 *
 * Jobs with a concurrency policy or a unique key go through the shared engine:
 * semaphores, blocked jobs and keys (engine/job-keys.ts) are its business, and
 * this file only handles plain jobs, and a single keyed job whose key is free. A multi-step job's step, a child's parent
 * and an at-most-once job's delivery are one scalar each for the whole batch
 * ($9, $10, $11: null for plain jobs, at no measurable cost); a batch whose
 * jobs differ in them (a bulk enqueue mixing tasks) goes through the engine.
 */
import type { InsertedJob, NewJob } from "../../src/records.ts";
import { chunks, type Param, type SqlAccess, type SqlRunner } from "../engine/access.ts";
import { jobInsertManyIn } from "../engine/jobInsertMany.ts";
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

/**
 * `keyed`: one job with a unique key ($12), written only when the statement
 * creates the key's row (ON CONFLICT DO NOTHING waits for a key row another
 * transaction is writing); it returns `inserted`, 1 or 0. A taken key (its
 * holder waiting, running or ended) writes nothing: the engine decides then.
 */
const insertSql = (notify: boolean, uniform: boolean, keyed = false) => `WITH input AS (
    ${uniform ? INPUT.uniform : INPUT.mixed}
  ), ${
  keyed
    ? `k AS (
    INSERT INTO stint_job_keys (backend, unique_key, job_id, created_at) SELECT $1, $12::text, id, $2 FROM input
    ON CONFLICT DO NOTHING RETURNING job_id
  ), `
    : ""
}jobs AS (
    INSERT INTO stint_jobs (id, backend, task, queue, priority, payload, status, attempts, scheduled_at, created_at,
      updated_at, step, parent_id, delivery${keyed ? ", unique_key" : ""})
    SELECT id, $1, task, queue, priority, payload, CASE WHEN scheduled_at <= $2 THEN 'ready' ELSE 'scheduled' END, 0,
      scheduled_at, $2, $2, $9::text, $10::uuid, $11::text${keyed ? ", $12::text" : ""}
    FROM input${keyed ? " JOIN k ON k.job_id = input.id" : ""}
    RETURNING id, queue, priority, scheduled_at, status
  ), ready AS (
    INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
    SELECT id, $1, queue, priority, scheduled_at, $2 FROM jobs WHERE status = 'ready'
  ), scheduled AS (
    INSERT INTO stint_scheduled_executions (job_id, backend, queue, priority, scheduled_at, created_at)
    SELECT id, $1, queue, priority, scheduled_at, $2 FROM jobs WHERE status = 'scheduled'
  )
  ${
  keyed
    ? `SELECT n.inserted, CASE WHEN q.queue IS NULL THEN '' ELSE ${notifyExpr("$1", "q.queue", notify)} END AS woke
  FROM (SELECT count(*)::integer AS inserted FROM k) AS n
  LEFT JOIN (SELECT DISTINCT queue FROM jobs WHERE status = 'ready') AS q ON true`
    : `SELECT ${notifyExpr("$1", "queue", notify)} FROM (SELECT DISTINCT queue FROM jobs WHERE status = 'ready') AS q`
}`;
const INSERT = {
  notify: { uniform: insertSql(true, true), mixed: insertSql(true, false), keyed: insertSql(true, true, true) },
  quiet: { uniform: insertSql(false, true), mixed: insertSql(false, false), keyed: insertSql(false, true, true) },
};

/** Whether every job has the first one's step, parent and delivery (the statement takes one of each). */
function sharesScalars(jobs: NewJob[]): boolean {
  if (jobs.length === 0) return true;
  const step = jobs[0].step ?? null;
  const parentId = jobs[0].parentId ?? null;
  const delivery = jobs[0].delivery ?? null;
  return jobs.every((j) =>
    (j.step ?? null) === step && (j.parentId ?? null) === parentId && (j.delivery ?? null) === delivery
  );
}

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
  const step = jobs[0].step ?? null;
  const parentId = jobs[0].parentId ?? null;
  const delivery = jobs[0].delivery ?? null;
  if (isUniform(jobs)) {
    const [j] = jobs;
    return [variants.uniform, [
      backend,
      t,
      ids,
      j.task,
      j.queue,
      j.priority,
      payloads,
      j.scheduledAt.getTime(),
      step,
      parentId,
      delivery,
    ]];
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
    step,
    parentId,
    delivery,
  ]];
}

/**
 * Inserts jobs; a ready job's wake-up is sent by the same statement, so it is
 * delivered when the insert commits (the caller's commit, with `tx`).
 */
export async function jobInsertMany(
  access: SqlAccess,
  hot: SqlRunner,
  p: { backend: string; jobs: NewJob[]; now: Date; tx?: unknown; notify: boolean },
): Promise<InsertedJob[]> {
  const userTx = p.tx === undefined ? null : access.runnerForUserTx(p.tx);
  const t = p.now.getTime();
  const out = p.jobs.map((j): InsertedJob => ({
    id: j.id,
    status: j.scheduledAt.getTime() <= t ? "ready" : "scheduled",
    duplicate: false,
  }));
  const [single] = p.jobs;
  if (p.jobs.length === 1 && single.key != null && single.concurrency === null) {
    // A single keyed enqueue (the common case: a button clicked twice) is one statement when its key is free.
    // One job is a uniform batch: the uniform statement's parameters, and the key.
    const [, params] = insertStatement(p.notify, p.backend, t, p.jobs);
    const sql = (p.notify ? INSERT.notify : INSERT.quiet).keyed;
    const [row] = await (userTx ?? hot).query(sql, [...params, single.key]);
    if (Number(row.inserted) === 1) return out;
  }
  if (p.jobs.some((j) => j.concurrency !== null || j.key != null) || !sharesScalars(p.jobs)) {
    // The shared engine owns concurrency and keys (and mixed steps); the wake-up joins its transaction.
    const viaEngine = async (q: SqlRunner) => {
      const inserted = await jobInsertManyIn(q, access, p);
      const ready = p.jobs.filter((_, i) => inserted[i].status === "ready").map((j) => j.queue);
      await notifyQueues(q, p.backend, ready, p.notify);
      return inserted;
    };
    return userTx ? viaEngine(userTx) : access.transaction(viaEngine);
  }
  const batches = chunks(p.jobs, INSERT_CHUNK);
  const write = async (q: SqlRunner) => {
    for (const batch of batches) await q.query(...insertStatement(p.notify, p.backend, t, batch));
  };
  if (userTx) await write(userTx);
  else if (batches.length === 1) await hot.query(...insertStatement(p.notify, p.backend, t, p.jobs));
  else await access.transaction(write);
  return out;
}
