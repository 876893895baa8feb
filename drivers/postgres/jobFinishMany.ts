/**
 * Applying a batch of outcomes in one statement, with the effects of the shared
 * engine's jobFinishMany (drivers/engine/jobFinishMany.ts; the contract suite
 * runs on both):
 *
 *   succeeded  → deleted with its errors, or kept as "succeeded" with its return value
 *   failed     → error recorded for the attempt, failed row, status "failed"
 *   cancelled  → error recorded, status "cancelled"
 *   retry      → error recorded, back to ready (due now) or scheduled (later)
 *   released   → back to ready, the attempt not counted
 *
 * A kept job's row gets the attempt and its start from the claimed row (the
 * claim does not write the job's row; drivers/engine/job-rows.ts).
 *
 * Only outcomes for jobs still claimed by `processId` apply: the claimed rows
 * are deleted first (`mine`), and everything else reads from what that delete
 * returned. The usual batch — every job succeeded — gets a statement that
 * touches only the claimed, jobs and errors tables (each table a statement
 * touches costs locks and executor set-up even when no row of it changes).
 *
 * Jobs with a concurrency policy are left claimed here, as are outcomes of the
 * recovery path (`processId: null`): the shared engine finishes those, since
 * semaphores are its business. So are child jobs (parent_id set: a parent may
 * wait for them), even when an outcome does not say so. A batch with a
 * multi-step or durable outcome (advance, sleep, wait, a final workspace) or a
 * child's outcome goes to the engine whole, in one transaction (one check per
 * batch: plain batches never see the difference). Jobs made ready send their
 * wake-up from the same statement or transaction, delivered on commit.
 */
import type { Outcome } from "../../src/records.ts";
import { chunks, type Param, type SqlAccess, type SqlRunner, str } from "../engine/access.ts";
import { jobFinishManyIn } from "../engine/jobFinishMany.ts";
import { runnerForTx } from "../engine/transactionRun.ts";
import { pgArray } from "./arrays.ts";
import { notifyExpr, notifyQueues } from "./notify.ts";

/**
 * Outcomes per statement. The statements that join the batch with its rows
 * are planned generically, where an array's length is unknown: capping the
 * batch bounds what a poor join order can cost.
 */
const CHUNK = 1_000;

/**
 * `mine`: this process's claims on plain jobs (no concurrency key, no parent)
 * among the batch `$ids`, deleted.
 * Every row is reached by an index probe on the claimed table's key, whatever
 * the statistics say (a join of the batch with the claimed table was once
 * planned as a full scan of one inside a loop over the other: 10 s for 5,000
 * outcomes after the table was analyzed while empty).
 */
const mine = (ids: string, tokens: string | null) =>
  `DELETE FROM stint_claimed_executions c
    WHERE c.job_id = ANY (${ids}::uuid[]) AND c.process_id = $1
      AND (SELECT COALESCE(j.concurrency_key, j.parent_id::text) FROM stint_jobs j WHERE j.id = c.job_id) IS NULL${
    tokens === null ? "" : `
      AND COALESCE((SELECT ${tokens}::text::jsonb) ->> c.job_id::text = c.attempt || ':' || c.started_at, TRUE)`
  }
    RETURNING c.job_id AS id, c.attempt, c.started_at`;

/**
 * The outcomes' claims as one JSON object, id → "attempt:startedAt", parsed once
 * per statement (the sub-select), with a lookup per claimed row: an outcome for
 * another claim of the job does not apply (src/records.ts Outcome). Outcomes
 * without one match any claim. The parameter is text on purpose: typed jsonb,
 * postgres.js would encode the string once more, as a JSON string.
 *
 * The all-succeeded statements skip the check (it cost 1.5 µs a job): once a
 * "succeeded" has committed, the job is finished or deleted and is never
 * claimed again, so a "succeeded" written again cannot meet a later claim.
 */
function claimTokens(batch: Outcome[]): string {
  const tokens: Record<string, string> = {};
  for (const o of batch) if (o.claim) tokens[o.id.toLowerCase()] = `${o.claim.attempt}:${o.claim.startedAt}`;
  return JSON.stringify(tokens);
}

/**
 * The succeeded statements answer with the ids they did not apply (usually
 * none) rather than the ones they did: a row per finished job was decoded for
 * nothing.
 */
const NOT_APPLIED = `SELECT unnest($2::uuid[]) AS id EXCEPT ALL SELECT id FROM mine`;

/**
 * Every outcome succeeded, finished jobs not kept. Errors exist only for a job
 * that failed an earlier attempt, so only a job past its first attempt is
 * looked up in stint_job_errors.
 */
const SUCCEEDED_DELETE = `WITH mine AS (
    ${mine("$2", null)}
  ), jobs AS (
    DELETE FROM stint_jobs j WHERE j.id = ANY (ARRAY(SELECT id FROM mine))
  ), errors AS (
    DELETE FROM stint_job_errors e WHERE e.job_id = ANY (ARRAY(SELECT id FROM mine WHERE attempt > 1))
  )
  ${NOT_APPLIED}`;

/** Every outcome succeeded, finished jobs kept with their return values and the attempt's record. */
const SUCCEEDED_KEEP = `WITH mine AS (
    ${mine("$2", null)}
  ), jobs AS (
    UPDATE stint_jobs j SET status = 'succeeded', return_value = d.return_value, attempts = d.attempt,
      started_at = d.started_at, finished_at = $4, updated_at = $4
    FROM (
      SELECT i.id, i.return_value, m.attempt, m.started_at
      FROM unnest($2::uuid[], $3::text[]) AS i (id, return_value) JOIN mine m ON m.id = i.id
    ) AS d
    WHERE j.id = d.id AND j.id = ANY (ARRAY(SELECT id FROM mine))
  )
  ${NOT_APPLIED}`;

const finishSql = (notify: boolean) => `WITH input AS (
    SELECT * FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
      AS i (id, kind, return_value, error_name, error_message, error_stack, retry_at)
  ), gone AS (
    ${mine("$4", "$12")}
  ), mine AS (
    SELECT i.id, i.kind, i.return_value, i.error_name, i.error_message, i.error_stack, i.retry_at,
      g.attempt, g.started_at, j.queue, j.priority
    FROM input i JOIN gone g ON g.id = i.id JOIN stint_jobs j ON j.id = i.id
    WHERE j.id = ANY (ARRAY(SELECT id FROM gone))
  ), errors AS (
    INSERT INTO stint_job_errors (job_id, backend, attempt, error_name, error_message, error_stack, created_at)
    SELECT id, $2, attempt, error_name, error_message, error_stack, $3 FROM mine
    WHERE kind IN ('failed', 'cancelled', 'retry')
  ), failed AS (
    INSERT INTO stint_failed_executions (job_id, backend, error_name, error_message, error_stack, created_at)
    SELECT id, $2, error_name, error_message, error_stack, $3 FROM mine WHERE kind = 'failed'
  ), ready AS (
    INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
    SELECT id, $2, queue, priority, $3, $3 FROM mine
    WHERE kind = 'released' OR (kind = 'retry' AND retry_at <= $3)
  ), scheduled AS (
    INSERT INTO stint_scheduled_executions (job_id, backend, queue, priority, scheduled_at, created_at)
    SELECT id, $2, queue, priority, retry_at, $3 FROM mine WHERE kind = 'retry' AND retry_at > $3
  ), removed_errors AS (
    DELETE FROM stint_job_errors e
    WHERE $11::integer = 0 AND e.job_id = ANY (ARRAY(SELECT id FROM mine WHERE kind = 'succeeded' AND attempt > 1))
  ), removed AS (
    DELETE FROM stint_jobs j WHERE $11::integer = 0 AND j.id = ANY (ARRAY(SELECT id FROM mine WHERE kind = 'succeeded'))
  ), updated AS (
    UPDATE stint_jobs j SET
      status = CASE m.kind
        WHEN 'retry' THEN CASE WHEN m.retry_at <= $3 THEN 'ready' ELSE 'scheduled' END
        WHEN 'released' THEN 'ready'
        ELSE m.kind END,
      return_value = CASE WHEN m.kind = 'succeeded' THEN m.return_value ELSE j.return_value END,
      finished_at = CASE WHEN m.kind IN ('succeeded', 'failed', 'cancelled') THEN $3 ELSE j.finished_at END,
      attempts = CASE WHEN m.kind = 'released' THEN j.attempts ELSE m.attempt END,
      started_at = CASE WHEN m.kind = 'released' THEN j.started_at ELSE m.started_at END,
      scheduled_at = CASE WHEN m.kind = 'retry' THEN GREATEST(m.retry_at, $3) ELSE j.scheduled_at END,
      updated_at = $3
    FROM mine m WHERE j.id = m.id AND (m.kind <> 'succeeded' OR $11::integer = 1)
  )
  SELECT id FROM mine
  UNION ALL
  SELECT NULL FROM (
    SELECT DISTINCT queue FROM mine WHERE kind = 'released' OR (kind = 'retry' AND retry_at <= $3)
  ) AS q
  WHERE ${notifyExpr("$2", "q.queue", notify)} IS NOT NULL`;
const FINISH = { notify: finishSql(true), quiet: finishSql(false) };

/** PostgreSQL text cannot hold NUL; an error message with one must not make the finish fail forever. */
function clean(text: string | null): string | null {
  return text === null || !text.includes("\0") ? text : text.replaceAll("\0", "\uFFFD");
}

function finishParams(processId: string, backend: string, t: number, preserve: boolean, batch: Outcome[]): Param[] {
  const error = (o: Outcome) => ("error" in o ? o.error : null);
  return [
    processId,
    backend,
    t,
    pgArray(batch.map((o) => o.id)),
    pgArray(batch.map((o) => o.kind)),
    pgArray(batch.map((o) => (o.kind === "succeeded" ? o.returnValue : null))),
    pgArray(batch.map((o) => error(o)?.name ?? null)),
    pgArray(batch.map((o) => error(o)?.message ?? null)),
    pgArray(batch.map((o) => error(o)?.stack ?? null)),
    pgArray(batch.map((o) => (o.kind === "retry" ? o.retryAt.getTime() : null))),
    preserve ? 1 : 0,
    claimTokens(batch),
  ];
}

/** One batch through the statement that fits it; returns the ids applied. */
async function finishBatch(
  hot: SqlRunner,
  p: { backend: string; processId: string; preserveFinished: boolean; notify: boolean },
  t: number,
  batch: Outcome[],
): Promise<string[]> {
  if (batch.every((o) => o.kind === "succeeded")) {
    const ids = pgArray(batch.map((o) => o.id));
    const rows = p.preserveFinished
      ? await hot.query(SUCCEEDED_KEEP, [
        p.processId,
        ids,
        pgArray(batch.map((o) => (o as { returnValue: string }).returnValue)),
        t,
      ])
      : await hot.query(SUCCEEDED_DELETE, [p.processId, ids]);
    if (rows.length === 0) return batch.map((o) => o.id);
    const skipped = new Set(rows.map((r) => str(r.id)));
    return batch.filter((o) => !skipped.has(o.id)).map((o) => o.id);
  }
  const statement = p.notify ? FINISH.notify : FINISH.quiet;
  const rows = await hot.query(statement, finishParams(p.processId, p.backend, t, p.preserveFinished, batch));
  return rows.filter((r) => r.id !== null).map((r) => str(r.id));
}

/**
 * Outcomes only the shared engine applies: the multi-step and durable kinds, a
 * final workspace, a child's, and a job with stored steps (the engine deletes them with it).
 */
function needsEngine(o: Outcome): boolean {
  return o.kind === "advance" || o.kind === "sleep" || o.kind === "wait" || (o.parentId ?? null) !== null ||
    o.stored === true ||
    (o.kind === "succeeded" && o.workspace !== undefined);
}

export async function jobFinishMany(
  access: SqlAccess,
  hot: SqlRunner,
  p: {
    backend: string;
    processId: string | null;
    outcomes: Outcome[];
    preserveFinished: boolean;
    now: Date;
    notify: boolean;
    tx?: unknown;
  },
): Promise<string[]> {
  if (p.outcomes.length === 0) return [];
  const t = p.now.getTime();
  const outcomes = p.outcomes.map(cleanOutcome);
  const applied = new Set<string>();
  const processId = p.processId;
  // With `tx` (a transactional task's, Driver.transactionRun), every statement runs in it and commits with it.
  const runner = p.tx === undefined ? hot : runnerForTx(access, p.tx);
  if (processId !== null) {
    // Plain outcomes take the fast path even beside ones only the engine applies: a plain
    // job is nobody's awaited child and holds no slot, so the two parts never meet.
    const plain = outcomes.some(needsEngine) ? outcomes.filter((o) => !needsEngine(o)) : outcomes;
    for (const batch of chunks(plain, CHUNK)) {
      for (const id of await finishBatch(runner, { ...p, processId }, t, batch)) applied.add(id);
    }
  }
  // Outcomes not applied above: jobs with a concurrency policy or a parent, the kinds
  // only the engine applies, claims of the recovery path, or claims this process no
  // longer holds (the engine ignores those).
  const rest = outcomes.filter((o) => !applied.has(o.id));
  if (rest.length > 0) {
    const finishRest = async (q: SqlRunner) => {
      const { applied, readyQueues } = await jobFinishManyIn(q, access, { ...p, outcomes: rest });
      // Sent inside the transaction: delivered when it commits.
      const byBackend = new Map<string, string[]>();
      for (const r of readyQueues) byBackend.set(r.backend, [...(byBackend.get(r.backend) ?? []), r.queue]);
      for (const [backend, queues] of byBackend) await notifyQueues(q, backend, queues, p.notify);
      return applied;
    };
    const done = p.tx === undefined ? await access.transaction(finishRest) : await finishRest(runner);
    for (const id of done) applied.add(id);
  }
  return outcomes.filter((o) => applied.has(o.id)).map((o) => o.id);
}

function cleanOutcome(o: Outcome): Outcome {
  if (!("error" in o)) return o;
  const { name, message, stack } = o.error;
  if (!`${name}${message}${stack ?? ""}`.includes("\0")) return o;
  return { ...o, error: { name: clean(name)!, message: clean(message)!, stack: clean(stack) } };
}
