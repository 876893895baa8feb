/**
 * Retention: deleting old finished jobs, failed jobs and recurring reservations
 * of one backend, a bounded batch of each per call (one short transaction each),
 * so the caller runs it again while `limitReached` says more may be left.
 */
import type { PruneCounts, PruneParams } from "../../src/records.ts";
import { num, type Param, placeholders, type SqlAccess, str } from "./access.ts";

const FINISHED = ["succeeded", "discarded", "cancelled"];

async function pruneJobs(
  access: SqlAccess,
  p: { backend: string; before: Date; statuses: string[]; task?: string; batchSize: number },
): Promise<number> {
  return await access.transaction(async (q) => {
    const params: Param[] = [p.backend, ...p.statuses, p.before.getTime()];
    if (p.task !== undefined) params.push(p.task);
    // Locked (skipping rows another transaction holds, like a retry of a failed
    // job) so a job that changes state meanwhile is never deleted. A child
    // stays while its parent may still join it: it has not finished, or it
    // failed (a retry runs it again from the top, and its join reads the children).
    const rows = await q.query(
      `SELECT j.id FROM stint_jobs j WHERE j.backend = ? AND j.status IN (${placeholders(p.statuses.length)})
       AND j.finished_at < ?${p.task !== undefined ? " AND j.task = ?" : ""}
       AND (j.parent_id IS NULL OR NOT EXISTS (
         SELECT 1 FROM stint_jobs pj WHERE pj.id = j.parent_id AND (pj.finished_at IS NULL OR pj.status = 'failed')))
       LIMIT ? ${access.lockSuffix}`,
      [...params, p.batchSize],
    );
    const ids = rows.map((r) => str(r.id));
    if (ids.length === 0) return 0;
    const inIds = placeholders(ids.length);
    await q.run(`DELETE FROM stint_job_errors WHERE job_id IN (${inIds})`, ids);
    await q.run(`DELETE FROM stint_steps WHERE job_id IN (${inIds})`, ids);
    await q.run(`DELETE FROM stint_failed_executions WHERE job_id IN (${inIds})`, ids);
    // An ended job holds no key (job-keys.ts): its key row goes with it (unless the key's next job took it over).
    await q.run(`DELETE FROM stint_job_keys WHERE job_id IN (${inIds})`, ids);
    return await q.run(
      `DELETE FROM stint_jobs WHERE id IN (${inIds}) AND status IN (${placeholders(p.statuses.length)})`,
      [...ids, ...p.statuses],
    );
  });
}

async function pruneReservations(
  access: SqlAccess,
  p: { backend: string; before: Date; taskKey?: string; batchSize: number },
): Promise<number> {
  return await access.transaction(async (q) => {
    const params: Param[] = [p.backend, p.before.getTime()];
    if (p.taskKey !== undefined) params.push(p.taskKey);
    const rows = await q.query(
      `SELECT task_key, run_at FROM stint_recurring_executions WHERE backend = ? AND created_at < ?${
        p.taskKey !== undefined ? " AND task_key = ?" : ""
      } LIMIT ?`,
      [...params, p.batchSize],
    );
    const byKey = new Map<string, number[]>();
    for (const r of rows) {
      const key = str(r.task_key);
      byKey.set(key, [...(byKey.get(key) ?? []), num(r.run_at)]);
    }
    let deleted = 0;
    for (const [key, runAts] of byKey) {
      deleted += await q.run(
        `DELETE FROM stint_recurring_executions WHERE backend = ? AND task_key = ? AND run_at IN (${
          placeholders(runAts.length)
        })`,
        [p.backend, key, ...runAts],
      );
    }
    return deleted;
  });
}

/**
 * Steps whose job is gone. PostgreSQL has no foreign keys (drivers/postgres/schema.ts):
 * its fast finish deletes a succeeded job without looking for steps unless the
 * outcome says it stored some (Outcome.stored), which a run that made no durable
 * call cannot know. Elsewhere the cascade leaves none, and this finds nothing.
 */
async function pruneOrphanSteps(access: SqlAccess, batchSize: number): Promise<number> {
  return await access.transaction(async (q) => {
    const rows = await q.query(
      `SELECT DISTINCT s.job_id FROM stint_steps s
       WHERE NOT EXISTS (SELECT 1 FROM stint_jobs j WHERE j.id = s.job_id) LIMIT ?`,
      [batchSize],
    );
    const ids = rows.map((r) => str(r.job_id));
    if (ids.length === 0) return 0;
    return await q.run(`DELETE FROM stint_steps WHERE job_id IN (${placeholders(ids.length)})`, ids);
  });
}

export async function retentionPrune(
  access: SqlAccess,
  p: PruneParams,
): Promise<PruneCounts> {
  const { backend, task, batchSize } = p;
  // Reservations first: whoever sees a pass's jobs gone also sees its older reservations gone.
  const recurring = p.recurringBefore
    ? await pruneReservations(access, { backend, before: p.recurringBefore, taskKey: p.taskKey, batchSize })
    : 0;
  const finished = p.finishedBefore
    ? await pruneJobs(access, { backend, before: p.finishedBefore, statuses: FINISHED, task, batchSize })
    : 0;
  const failed = p.failedBefore
    ? await pruneJobs(access, { backend, before: p.failedBefore, statuses: ["failed"], task, batchSize })
    : 0;
  if (p.finishedBefore) await pruneOrphanSteps(access, batchSize);
  return {
    finished,
    failed,
    recurring,
    limitReached: finished >= batchSize || failed >= batchSize || recurring >= batchSize,
  };
}
