import type { JobFilter } from "../../src/records.ts";
import { chunks, placeholders, type SqlAccess, type SqlRunner, str } from "./access.ts";
import { KEY_WAITING, lockKey, takeKey } from "./job-keys.ts";
import { BATCH, selectFailed } from "./select-failed.ts";
import { admitJobs } from "./semaphores.ts";
import { lockStatuses } from "./status.ts";

type Taken = { id: string; key: string; holderId: string };

/**
 * Failed jobs back to ready (through the concurrency gate); returns how many,
 * the queues that got ready jobs, and the keyed jobs left failed because
 * another job holds their key, waiting or running (DESIGN §11).
 */
export async function jobRetryMany(
  access: SqlAccess,
  p: { backend: string; ids?: string[]; filter?: JobFilter; now: Date },
): Promise<{ count: number; queues: string[]; taken: Taken[] }> {
  const t = p.now.getTime();
  let total = 0;
  const queues = new Set<string>();
  const taken: Taken[] = [];
  const idBatches = p.ids ? chunks(p.ids, BATCH) : null;
  // By filter, a batch at a time in id order: jobs left failed for their keys are not selected again.
  let after: string | undefined;
  for (let i = 0;; i++) {
    if (idBatches && i >= idBatches.length) break;
    const { count, ready, seen, kept, last } = await access.transaction(async (q) => {
      const rows = await selectFailed(q, access, p.backend, idBatches?.[i], p.filter, after);
      if (rows.length === 0) return { count: 0, ready: [], seen: 0, kept: [], last: undefined };
      const selected = rows.map((r) => str(r.job_id));
      const last = selected.at(-1);
      const kept = await keepKeys(q, access, p.backend, selected, t);
      const keptIds = new Set(kept.map((k) => k.id));
      const ids = selected.filter((id) => !keptIds.has(id));
      if (ids.length === 0) return { count: 0, ready: [], seen: selected.length, kept, last };
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
      return { count: ids.length, ready: readyQueues, seen: selected.length, kept, last };
    });
    total += count;
    for (const r of ready) queues.add(r.queue);
    taken.push(...kept);
    after = last;
    if (!idBatches && seen < BATCH) break;
  }
  return { count: total, queues: [...queues], taken };
}

/**
 * Takes the keys of the keyed jobs among `ids` back for them, in order;
 * returns those whose key another job holds, waiting or running (one retried
 * earlier in this batch included), which stay failed.
 */
async function keepKeys(q: SqlRunner, access: SqlAccess, backend: string, ids: string[], t: number): Promise<Taken[]> {
  const keyed = await q.query(
    `SELECT id, unique_key FROM stint_jobs WHERE id IN (${placeholders(ids.length)}) AND unique_key IS NOT NULL
     ORDER BY id`,
    ids,
  );
  const kept: Taken[] = [];
  const retried = new Set<string>();
  for (const r of keyed) {
    const id = str(r.id);
    const key = str(r.unique_key);
    const holder = await lockKey(q, access, backend, key, id, t);
    if (holder !== id) {
      const status = retried.has(holder) ? "ready" : (await lockStatuses(q, access, backend, [holder])).get(holder);
      if (status !== undefined && (KEY_WAITING.has(status) || status === "running")) {
        kept.push({ id, key, holderId: holder });
        continue;
      }
      await takeKey(q, backend, key, id, t);
    }
    retried.add(id);
  }
  return kept;
}
