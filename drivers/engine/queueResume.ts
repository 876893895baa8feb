import { num, type SqlAccess } from "./access.ts";

/**
 * Paused time is not latency: each ready job's latency clock moves forward by
 * the time it spent paused (a job that became ready during the pause starts now).
 */
export function queueResume(access: SqlAccess, p: { backend: string; queue: string; now: Date }): Promise<void> {
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const rows = await q.query(`SELECT created_at FROM stint_pauses WHERE backend = ? AND queue = ?`, [p.backend, p.queue]);
    if (rows.length === 0) return;
    const pausedAt = num(rows[0].created_at);
    await q.run(
      `UPDATE stint_ready_executions
       SET latency_started_at = CASE WHEN latency_started_at < ? THEN latency_started_at + ? ELSE ? END
       WHERE backend = ? AND queue = ?`,
      [pausedAt, Math.max(0, t - pausedAt), t, p.backend, p.queue],
    );
    await q.run(`DELETE FROM stint_pauses WHERE backend = ? AND queue = ?`, [p.backend, p.queue]);
  });
}
