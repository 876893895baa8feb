/** The second step of firing a slot (recurring-rows.ts): enqueue its job and advance the task. */
import type { InsertedJob, NewJob } from "../../src/records.ts";
import { numOrNull, type SqlAccess } from "./access.ts";
import { jobInsertManyIn } from "./jobInsertMany.ts";

export function recurringEnqueue(
  access: SqlAccess,
  p: { backend: string; key: string; runAt: Date; job: NewJob | null; nextRunAt: Date | null; now: Date },
): Promise<InsertedJob | null> {
  const t = p.now.getTime();
  const runAt = p.runAt.getTime();
  return access.transaction(async (q) => {
    // The UPDATE locks the task row: whoever comes second sees last_run_at moved.
    await q.run(`UPDATE stint_recurring_tasks SET updated_at = ? WHERE backend = ? AND task_key = ?`, [t, p.backend, p.key]);
    const rows = await q.query(
      `SELECT last_run_at, next_run_at FROM stint_recurring_tasks WHERE backend = ? AND task_key = ?`,
      [p.backend, p.key],
    );
    if (rows.length === 0) return null;
    const last = numOrNull(rows[0].last_run_at);
    if (last !== null && last >= runAt) return null;
    let inserted: InsertedJob | null = null;
    if (p.job) {
      const exists = await q.query(`SELECT id FROM stint_jobs WHERE id = ?`, [p.job.id]);
      if (exists.length === 0) [inserted] = await jobInsertManyIn(q, access, { backend: p.backend, jobs: [p.job], now: p.now });
    }
    const current = numOrNull(rows[0].next_run_at);
    const next = current === null || current <= runAt ? p.nextRunAt?.getTime() ?? null : current;
    await q.run(
      `UPDATE stint_recurring_tasks SET last_run_at = ?, next_run_at = ?, updated_at = ? WHERE backend = ? AND task_key = ?`,
      [runAt, next, t, p.backend, p.key],
    );
    return inserted;
  });
}
