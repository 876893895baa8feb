/**
 * A job's rows, as every operation of the shared engine moves them.
 *
 * Each operation is one transaction. A job moves between state tables by a
 * delete from one and an insert into the next, and its row in stint_jobs carries
 * the status that getResult reports; both change in the same transaction.
 *
 * One exception, for speed: a claim does not write the job's row. The claimed
 * row records the attempt and its start, and while it exists the job is
 * "running" whatever stint_jobs says (which stays "ready", with the attempts
 * finished so far). The finish copies the attempt and its start to the job's
 * row when it keeps the row. Readers derive the status (see status.ts).
 */
import type { ClaimedJob, QueueSelector } from "../../src/records.ts";
import { selectorRank } from "../../src/selectors.ts";
import { chunks, num, placeholders, type SqlRunner, str, strOrNull } from "./access.ts";

/** Rows per statement in the hot path's batches. */
export const CHUNK = 500;

/** The state tables of a job waiting to run. */
export const WAITING_TABLES = ["stint_ready_executions", "stint_scheduled_executions", "stint_blocked_executions"];

/**
 * A claimed job from a row of its columns (`id`, `task`, `queue`, `priority`,
 * `payload`, `created_at`, `workspace`, `step`, `parent_id`, `delivery`), with the claim's attempt and start (ms): the claim
 * token every outcome of it names (src/records.ts Outcome).
 */
export function claimedJob(r: Record<string, unknown>, attempt: number, startedAt: number): ClaimedJob {
  return {
    id: str(r.id),
    task: str(r.task),
    queue: str(r.queue),
    priority: num(r.priority),
    payload: str(r.payload),
    attempt,
    enqueuedAt: new Date(num(r.created_at)),
    claim: { attempt, startedAt },
    workspace: strOrNull(r.workspace),
    step: strOrNull(r.step),
    parentId: strOrNull(r.parent_id),
    delivery: deliveryOf(r.delivery),
  };
}

/** A job's stored delivery (NewJob.delivery): only "at-most-once" is stored, null is at-least-once. */
export function deliveryOf(value: unknown): "at-most-once" | null {
  return value === "at-most-once" ? "at-most-once" : null;
}

/** A held claim's job as the worker got it: the attempt and its start are the claimed row's (`c`). */
export const CLAIM_COLUMNS =
  "j.id, j.task, j.queue, j.priority, j.payload, j.created_at, j.workspace, j.step, j.parent_id, j.delivery, c.attempt, " +
  "c.started_at";

export function claimOfRow(r: Record<string, unknown>): ClaimedJob {
  return claimedJob(r, num(r.attempt), num(r.started_at));
}

/** Selector rank, then priority, then age (ids are time-ordered UUIDv7). */
export function sortClaimed(jobs: ClaimedJob[], selectors: QueueSelector[]): ClaimedJob[] {
  const rank = new Map(jobs.map((j) => [j.id, selectorRank(selectors, j.queue)]));
  return jobs.sort((a, b) =>
    rank.get(a.id)! - rank.get(b.id)! || b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** Deletes jobs with their errors and stored steps (PostgreSQL has no foreign keys to cascade). */
export async function deleteJobs(q: SqlRunner, ids: string[]): Promise<void> {
  for (const batch of chunks(ids, CHUNK)) {
    const inIds = placeholders(batch.length);
    await q.run(`DELETE FROM stint_job_errors WHERE job_id IN (${inIds})`, batch);
    await q.run(`DELETE FROM stint_steps WHERE job_id IN (${inIds})`, batch);
    await q.run(`DELETE FROM stint_jobs WHERE id IN (${inIds})`, batch);
  }
}

export function setStatus(q: SqlRunner, ids: string[], status: string, t: number, finished: boolean): Promise<number> {
  return q.run(
    `UPDATE stint_jobs SET status = ?, updated_at = ?${finished ? ", finished_at = ?" : ""} WHERE id IN (${
      placeholders(ids.length)
    })`,
    finished ? [status, t, t, ...ids] : [status, t, ...ids],
  );
}
