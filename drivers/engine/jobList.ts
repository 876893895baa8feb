/** Jobs by status, queue, task, parent and data, for stint.jobs(), stats and the dashboard. */
import type { JobQuery, JobSummary } from "../../src/records.ts";
import { dateOrNull, num, type Param, type SqlAccess, str, strOrNull } from "./access.ts";
import { fieldEquals } from "./json-where.ts";
import { attemptsOf, statusOf } from "./status.ts";

/**
 * Jobs matching the query, newest first. Running jobs are the claimed ones,
 * whose rows still say "ready" (status.ts); so "ready" means that row and no
 * claim. `where` compares top-level fields of the current workspace, or of
 * the payload when there is none (json-where.ts); no index serves it, so it
 * reads the backend's jobs (narrowed by the other filters) newest first until
 * `limit` match.
 */
export async function jobList(access: SqlAccess, p: { backend: string } & JobQuery): Promise<JobSummary[]> {
  const params: Param[] = [p.backend];
  let where = "j.backend = ?";
  if (p.status === "running") where += " AND c.job_id IS NOT NULL";
  else if (p.status !== undefined) {
    where += " AND j.status = ?";
    params.push(p.status);
    if (p.status === "ready") where += " AND c.job_id IS NULL";
  }
  const equal = { queue: p.queue, task: p.task, parent_id: p.parentId };
  for (const [column, value] of Object.entries(equal)) {
    if (value === undefined) continue;
    where += ` AND j.${column} = ?`;
    params.push(value);
  }
  for (const [field, json] of Object.entries(p.where ?? {})) {
    const condition = fieldEquals(access, "coalesce(j.workspace, j.payload)", field, json);
    where += ` AND ${condition.sql}`;
    params.push(...condition.params);
  }
  if (p.before !== undefined) {
    where += " AND j.id < ?";
    params.push(p.before);
  }
  const rows = await access.query(
    `SELECT j.id, j.task, j.queue, j.priority, j.status, j.attempts, j.created_at, j.scheduled_at, j.finished_at,
       j.parent_id, j.progress, c.attempt AS claim_attempt, f.error_name, f.error_message
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
    parentId: strOrNull(r.parent_id),
    progress: strOrNull(r.progress),
  }));
}
