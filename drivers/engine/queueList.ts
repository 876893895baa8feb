import type { QueueInfo } from "../../src/records.ts";
import { dateOrNull, num, type SqlAccess, str } from "./access.ts";

export async function queueList(access: SqlAccess, p: { backend: string; queue?: string }): Promise<QueueInfo[]> {
  const one = p.queue !== undefined;
  const where = one ? "backend = ? AND queue = ?" : "backend = ?";
  const params = one ? [p.backend, p.queue!] : [p.backend];
  const [ready, scheduled, blocked, running, waiting, pauses] = await Promise.all([
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
    // Parents in ctx.join have no state row: their job rows say so (the retention index serves it).
    access.query(
      `SELECT queue, COUNT(*) AS n FROM stint_jobs WHERE ${where} AND status = 'waiting' GROUP BY queue`,
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
        waiting: 0,
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
  for (const r of waiting) get(str(r.queue)).waiting = num(r.n);
  for (const r of pauses) get(str(r.queue)).paused = true;
  if (one && infos.size === 0) get(p.queue!);
  return [...infos.values()].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
}
