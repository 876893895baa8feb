import type { JobFilter } from "../../src/records.ts";
import { chunks, placeholders, type SqlAccess, str } from "./access.ts";
import { BATCH, selectFailed } from "./select-failed.ts";
import { admitJobs } from "./semaphores.ts";

/** Failed jobs back to ready (through the concurrency gate); returns how many, and the queues that got ready jobs. */
export async function jobRetryMany(
  access: SqlAccess,
  p: { backend: string; ids?: string[]; filter?: JobFilter; now: Date },
): Promise<{ count: number; queues: string[] }> {
  const t = p.now.getTime();
  let total = 0;
  const queues = new Set<string>();
  const idBatches = p.ids ? chunks(p.ids, BATCH) : null;
  for (let i = 0;; i++) {
    if (idBatches && i >= idBatches.length) break;
    const { count, ready } = await access.transaction(async (q) => {
      const rows = await selectFailed(q, access, p.backend, idBatches?.[i], p.filter);
      if (rows.length === 0) return { count: 0, ready: [] };
      const ids = rows.map((r) => str(r.job_id));
      const inIds = placeholders(ids.length);
      await q.run(`DELETE FROM stint_failed_executions WHERE job_id IN (${inIds})`, ids);
      // A cancel requested of the failed run does not carry over to the retried one.
      await q.run(
        `UPDATE stint_jobs SET finished_at = NULL, cancel_requested_at = NULL, scheduled_at = ?, updated_at = ?
         WHERE id IN (${inIds})`,
        [t, t, ...ids],
      );
      // Ready again through the concurrency gate: it may be blocked behind the key's holders.
      const { readyQueues } = await admitJobs(q, access, ids, t);
      return { count: ids.length, ready: readyQueues };
    });
    total += count;
    for (const r of ready) queues.add(r.queue);
    if (!idBatches && count < BATCH) break;
  }
  return { count: total, queues: [...queues] };
}
