import { num, placeholders, type SqlAccess, str } from "./access.ts";
import { lockSemaphore, promoteWaiters, saveSemaphore } from "./semaphores.ts";

/**
 * The dispatcher's maintenance: deletes semaphores whose lease ran out
 * (database-wide), then promotes this backend's blocked jobs wherever a slot can
 * be had: their own lease ran out, their semaphore is gone, or it has free
 * slots (a limit raised meanwhile). Each key is one short transaction, so two
 * dispatchers racing on a key promote one waiter per free slot, not two.
 */
export async function concurrencyMaintain(
  access: SqlAccess,
  p: { backend: string; limit: number; now: Date },
): Promise<{ expired: number; promoted: number; queues: string[] }> {
  const t = p.now.getTime();
  let expired = 0;
  for (;;) {
    const count = await access.transaction(async (q) => {
      const keys = (await q.query(
        `SELECT semaphore_key FROM stint_semaphores WHERE expires_at < ? ORDER BY semaphore_key LIMIT ?`,
        [t, p.limit],
      )).map((r) => str(r.semaphore_key));
      if (keys.length === 0) return 0;
      await q.run(
        `DELETE FROM stint_semaphores WHERE semaphore_key IN (${placeholders(keys.length)}) AND expires_at < ?`,
        [...keys, t],
      );
      return keys.length;
    });
    expired += count;
    if (count < p.limit) break;
  }
  const keys = await access.query(
    `SELECT DISTINCT b.concurrency_key FROM stint_blocked_executions b
     LEFT JOIN stint_semaphores s ON s.semaphore_key = b.concurrency_key
     WHERE b.backend = ? AND (b.expires_at < ? OR s.semaphore_key IS NULL OR s.value > 0)
     ORDER BY b.concurrency_key LIMIT ?`,
    [p.backend, t, p.limit],
  );
  let promoted = 0;
  const queues = new Set<string>();
  for (const row of keys) {
    const key = str(row.concurrency_key);
    const moved = await access.transaction(async (q) => {
      const first = await q.query(
        `SELECT j.concurrency_limit FROM stint_blocked_executions b JOIN stint_jobs j ON j.id = b.job_id
         WHERE b.concurrency_key = ? AND b.backend = ? ORDER BY b.priority DESC, b.job_id LIMIT 1`,
        [key, p.backend],
      );
      if (first.length === 0) return [];
      const sem = await lockSemaphore(q, access, key, num(first[0].concurrency_limit), t);
      const out = await promoteWaiters(q, sem, t, p.backend);
      if (out.length > 0) await saveSemaphore(q, sem, t);
      return out;
    });
    promoted += moved.length;
    for (const m of moved) queues.add(m.queue);
  }
  return { expired, promoted, queues: [...queues] };
}
