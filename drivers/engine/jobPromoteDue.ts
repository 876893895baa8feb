/**
 * Scheduled jobs due by now become ready, through the concurrency gate.
 * drivers/postgres has its own statement for this operation; the contract
 * suite runs on both.
 */
import { num, placeholders, type SqlAccess, str } from "./access.ts";
import { admitAndWake } from "./job-waits.ts";

export function jobPromoteDue(
  access: SqlAccess,
  p: { backend: string; limit: number; now: Date },
): Promise<{ count: number; queues: string[] }> {
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const rows = await q.query(
      `SELECT job_id, queue, priority, scheduled_at FROM stint_scheduled_executions
       WHERE backend = ? AND scheduled_at <= ? ORDER BY scheduled_at, priority DESC, job_id LIMIT ? ${access.lockSuffix}`,
      [p.backend, t, p.limit],
    );
    if (rows.length === 0) return { count: 0, queues: [] };
    const ids = rows.map((r) => str(r.job_id));
    await q.run(`DELETE FROM stint_scheduled_executions WHERE job_id IN (${placeholders(ids.length)})`, ids);
    // A due job with a concurrency policy takes a slot here, or is blocked or discarded
    // (a discarded child its parent waits for has ended: admitAndWake).
    const latency = new Map(rows.map((r) => [str(r.job_id), num(r.scheduled_at)]));
    const readyQueues = (await admitAndWake(q, access, ids, t, latency)).filter((r) => r.backend === p.backend);
    return { count: ids.length, queues: [...new Set(readyQueues.map((r) => r.queue))] };
  });
}
