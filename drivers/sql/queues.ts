/** Queue controls: pause, resume (with the latency shift), clear, and counts. */
import type { QueueInfo } from "../../src/records.ts";
import { dateOrNull, num, placeholders, type SqlAccess, str } from "./access.ts";
import { deleteJobs } from "./jobs.ts";
import { releaseSlots } from "./concurrency.ts";

export async function pauseQueue(access: SqlAccess, p: { backend: string; queue: string; now: Date }): Promise<void> {
  await access.run(access.insertIgnore("stint_pauses", ["backend", "queue", "created_at"], 1), [
    p.backend,
    p.queue,
    p.now.getTime(),
  ]);
}

/**
 * Paused time is not latency: each ready job's latency clock moves forward by
 * the time it spent paused (a job that became ready during the pause starts now).
 */
export function resumeQueue(access: SqlAccess, p: { backend: string; queue: string; now: Date }): Promise<void> {
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

export async function queueIsPaused(access: SqlAccess, p: { backend: string; queue: string }): Promise<boolean> {
  const rows = await access.query(`SELECT 1 AS one FROM stint_pauses WHERE backend = ? AND queue = ?`, [p.backend, p.queue]);
  return rows.length > 0;
}

export async function clearQueue(access: SqlAccess, p: { backend: string; queue: string }): Promise<number> {
  let total = 0;
  for (;;) {
    const count = await access.transaction(async (q) => {
      const rows = await q.query(
        `SELECT job_id FROM stint_ready_executions WHERE backend = ? AND queue = ? LIMIT 500 ${access.lockSuffix}`,
        [p.backend, p.queue],
      );
      const ids = rows.map((r) => str(r.job_id));
      if (ids.length === 0) return 0;
      await q.run(`DELETE FROM stint_ready_executions WHERE job_id IN (${placeholders(ids.length)})`, ids);
      await releaseSlots(q, access, ids, Date.now()); // ready jobs held concurrency slots
      await deleteJobs(q, ids);
      return ids.length;
    });
    total += count;
    if (count < 500) return total;
  }
}

export async function queueList(access: SqlAccess, p: { backend: string; queue?: string }): Promise<QueueInfo[]> {
  const one = p.queue !== undefined;
  const where = one ? "backend = ? AND queue = ?" : "backend = ?";
  const params = one ? [p.backend, p.queue!] : [p.backend];
  const [ready, scheduled, blocked, running, pauses] = await Promise.all([
    access.query(
      `SELECT queue, COUNT(*) AS n, MIN(latency_started_at) AS oldest FROM stint_ready_executions WHERE ${where} GROUP BY queue`,
      params,
    ),
    access.query(
      `SELECT queue, COUNT(*) AS n, MIN(scheduled_at) AS next FROM stint_scheduled_executions WHERE ${where} GROUP BY queue`,
      params,
    ),
    access.query(`SELECT queue, COUNT(*) AS n FROM stint_blocked_executions WHERE ${where} GROUP BY queue`, params),
    access.query(
      `SELECT j.queue AS queue, COUNT(*) AS n FROM stint_claimed_executions c JOIN stint_jobs j ON j.id = c.job_id
       WHERE c.backend = ?${one ? " AND j.queue = ?" : ""} GROUP BY j.queue`,
      params,
    ),
    access.query(`SELECT queue FROM stint_pauses WHERE ${where}`, params),
  ]);
  const infos = new Map<string, QueueInfo>();
  const get = (queue: string) => {
    let info = infos.get(queue);
    if (!info) {
      info = {
        queue,
        ready: 0,
        scheduled: 0,
        blocked: 0,
        running: 0,
        paused: false,
        oldestReadyAt: null,
        nextScheduledAt: null,
      };
      infos.set(queue, info);
    }
    return info;
  };
  for (const r of ready) {
    const info = get(str(r.queue));
    info.ready = num(r.n);
    info.oldestReadyAt = dateOrNull(r.oldest);
  }
  for (const r of scheduled) {
    const info = get(str(r.queue));
    info.scheduled = num(r.n);
    info.nextScheduledAt = dateOrNull(r.next);
  }
  for (const r of blocked) get(str(r.queue)).blocked = num(r.n);
  for (const r of running) get(str(r.queue)).running = num(r.n);
  for (const r of pauses) get(str(r.queue)).paused = true;
  if (one && infos.size === 0) get(p.queue!);
  return [...infos.values()].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
}

