/** The first step of firing a slot (recurring-rows.ts): reserve it, or find the reservation. */
import { num, numOrNull, type SqlAccess, str } from "./access.ts";

export async function recurringReserve(
  access: SqlAccess,
  p: { backend: string; key: string; runAt: Date; jobId: string; now: Date },
): Promise<{ jobId: string; pending: boolean }> {
  const runAt = p.runAt.getTime();
  const insert = access.insertIgnore("stint_recurring_executions", ["backend", "task_key", "run_at", "job_id", "created_at"], 1);
  if (await access.run(insert, [p.backend, p.key, runAt, p.jobId, p.now.getTime()]) === 1) {
    return { jobId: p.jobId, pending: true };
  }
  const rows = await access.query(
    `SELECT e.job_id, t.last_run_at, (SELECT COUNT(*) FROM stint_jobs j WHERE j.id = e.job_id) AS jobs
     FROM stint_recurring_executions e
     LEFT JOIN stint_recurring_tasks t ON t.backend = e.backend AND t.task_key = e.task_key
     WHERE e.backend = ? AND e.task_key = ? AND e.run_at = ?`,
    [p.backend, p.key, runAt],
  );
  if (rows.length === 0) return { jobId: p.jobId, pending: false }; // cleaned up meanwhile: long past
  const r = rows[0];
  const last = numOrNull(r.last_run_at);
  return { jobId: str(r.job_id), pending: num(r.jobs) === 0 && (last === null || last < runAt) };
}
