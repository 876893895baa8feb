/**
 * A job's status as readers see it. A claim writes only the claimed row
 * (job-rows.ts): while that row exists the job is running, whatever its own row
 * says (still "ready"), and the attempt and its start are the claimed row's.
 */
import type { JobStatus } from "../../src/records.ts";
import { dateOrNull, lockWait, num, placeholders, type SqlAccess, type SqlRunner, str } from "./access.ts";

/** Job columns plus the claim's (`claim_attempt` is NULL when the job is not claimed). */
export const JOB_AND_CLAIM = `SELECT j.*, c.attempt AS claim_attempt, c.started_at AS claim_started_at
  FROM stint_jobs j LEFT JOIN stint_claimed_executions c ON c.job_id = j.id`;

const claimed = (r: Record<string, unknown>) => r.claim_attempt !== null && r.claim_attempt !== undefined;

export function statusOf(r: Record<string, unknown>): JobStatus {
  return claimed(r) ? "running" : str(r.status) as JobStatus;
}

export function attemptsOf(r: Record<string, unknown>): number {
  return claimed(r) ? num(r.claim_attempt) : num(r.attempts);
}

export function startedAtOf(r: Record<string, unknown>): Date | null {
  return claimed(r) ? new Date(num(r.claim_started_at)) : dateOrNull(r.started_at);
}

/**
 * Locks the named jobs of `backend` (waiting for rows others hold, never
 * skipping them) and tells their statuses. A job whose row says "ready" is
 * checked against its ready row, locked too: a claim takes that row without
 * touching the job's, so a job with no ready row left has been claimed, and
 * one whose ready row is now locked here cannot be claimed until this
 * transaction ends.
 */
export async function lockStatuses(
  q: SqlRunner,
  access: SqlAccess,
  backend: string,
  ids: string[],
): Promise<Map<string, JobStatus>> {
  const rows = await q.query(
    `SELECT id, status FROM stint_jobs WHERE backend = ? AND id IN (${placeholders(ids.length)}) ${lockWait(access)}`,
    [backend, ...ids],
  );
  const statuses = new Map(rows.map((r) => [str(r.id), str(r.status) as JobStatus]));
  const ready = [...statuses].filter(([, s]) => s === "ready").map(([id]) => id);
  if (ready.length > 0) {
    const waiting = await q.query(
      `SELECT job_id FROM stint_ready_executions WHERE job_id IN (${placeholders(ready.length)}) ${lockWait(access)}`,
      ready,
    );
    const still = new Set(waiting.map((r) => str(r.job_id)));
    for (const id of ready) if (!still.has(id)) statuses.set(id, "running");
  }
  return statuses;
}
