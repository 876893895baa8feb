import type { JobRecord } from "../../src/records.ts";
import { dateOrNull, num, type SqlAccess, str, strOrNull } from "./access.ts";
import { deliveryOf } from "./job-rows.ts";
import { attemptsOf, JOB_AND_CLAIM, startedAtOf, statusOf } from "./status.ts";

export async function jobGet(access: SqlAccess, p: { backend: string; id: string }): Promise<JobRecord | null> {
  const rows = await access.query(`${JOB_AND_CLAIM} WHERE j.id = ? AND j.backend = ?`, [p.id, p.backend]);
  if (rows.length === 0) return null;
  const r = rows[0];
  const errors = await access.query(
    `SELECT attempt, error_name, error_message, error_stack, created_at FROM stint_job_errors
     WHERE job_id = ? ORDER BY id`,
    [p.id],
  );
  return {
    id: str(r.id),
    task: str(r.task),
    queue: str(r.queue),
    priority: num(r.priority),
    status: statusOf(r),
    payload: str(r.payload),
    returnValue: strOrNull(r.return_value),
    errors: errors.map((e) => ({
      attempt: num(e.attempt),
      name: str(e.error_name),
      message: str(e.error_message),
      stack: strOrNull(e.error_stack),
      at: new Date(num(e.created_at)),
    })),
    attempts: attemptsOf(r),
    concurrencyKey: strOrNull(r.concurrency_key),
    concurrency: r.concurrency_key === null || r.concurrency_key === undefined ? null : {
      key: str(r.concurrency_key),
      limit: num(r.concurrency_limit),
      durationMs: num(r.concurrency_duration_ms),
      onConflict: str(r.concurrency_on_conflict) === "discard" ? "discard" : "block",
    },
    enqueuedAt: new Date(num(r.created_at)),
    scheduledAt: new Date(num(r.scheduled_at)),
    startedAt: startedAtOf(r),
    finishedAt: dateOrNull(r.finished_at),
    workspace: strOrNull(r.workspace),
    step: strOrNull(r.step),
    parentId: strOrNull(r.parent_id),
    key: strOrNull(r.unique_key),
    delivery: deliveryOf(r.delivery),
    progress: strOrNull(r.progress),
    progressAt: dateOrNull(r.progress_at),
  };
}
