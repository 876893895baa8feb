/** Jobs of one status, for stats and the dashboard. */
import type { JobStatus, JobSummary } from "../../src/records.ts";
import { dateOrNull, num, type Param, type SqlAccess, str } from "./access.ts";
import { attemptsOf, statusOf } from "./status.ts";

/**
 * Jobs of one status, newest first. Running jobs are the claimed ones, whose
 * rows still say "ready" (status.ts); so "ready" means that row and no claim.
 */
export async function jobList(
  access: SqlAccess,
  p: { backend: string; status: JobStatus; queue?: string; limit: number; before?: string },
): Promise<JobSummary[]> {
  const params: Param[] = [p.backend];
  let where = "j.backend = ?";
  if (p.status === "running") where += " AND c.job_id IS NOT NULL";
  else {
    where += " AND j.status = ?";
    params.push(p.status);
    if (p.status === "ready") where += " AND c.job_id IS NULL";
  }
  if (p.queue !== undefined) {
    where += " AND j.queue = ?";
    params.push(p.queue);
  }
  if (p.before !== undefined) {
    where += " AND j.id < ?";
    params.push(p.before);
  }
  const rows = await access.query(
    `SELECT j.id, j.task, j.queue, j.priority, j.status, j.attempts, j.created_at, j.scheduled_at, j.finished_at,
       c.attempt AS claim_attempt, f.error_name, f.error_message
     FROM stint_jobs j LEFT JOIN stint_claimed_executions c ON c.job_id = j.id
       LEFT JOIN stint_failed_executions f ON f.job_id = j.id
     WHERE ${where} ORDER BY j.id DESC LIMIT ${Math.max(1, Math.min(1000, Math.floor(p.limit)))}`,
    params,
  );
  return rows.map((r) => ({
    id: str(r.id),
    task: str(r.task),
    queue: str(r.queue),
    priority: num(r.priority),
    status: statusOf(r),
    attempts: attemptsOf(r),
    enqueuedAt: new Date(num(r.created_at)),
    scheduledAt: new Date(num(r.scheduled_at)),
    finishedAt: dateOrNull(r.finished_at),
    lastError: r.error_name == null ? null : `${str(r.error_name)}: ${str(r.error_message)}`,
  }));
}
