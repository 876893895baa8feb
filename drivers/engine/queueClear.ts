/** Removes a queue's ready jobs, a batch per transaction; their concurrency slots go back. */
import { placeholders, type SqlAccess, str } from "./access.ts";
import { deleteJobs } from "./job-rows.ts";
import { awaitedAmong, wakeParents } from "./job-waits.ts";
import { releaseSlots } from "./semaphores.ts";

export async function queueClear(access: SqlAccess, p: { backend: string; queue: string; now: Date }): Promise<number> {
  const t = p.now.getTime();
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
      await releaseSlots(q, access, ids, t); // ready jobs held concurrency slots
      // A child its parent waits for is gone: that counts as its end, or the parent would wait for good.
      await wakeParents(q, access, await awaitedAmong(q, access, ids), t);
      await deleteJobs(q, ids);
      return ids.length;
    });
    total += count;
    if (count < 500) return total;
  }
}
