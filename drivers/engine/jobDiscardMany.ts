import type { JobFilter, JobStatus } from "../../src/records.ts";
import { chunks, placeholders, type SqlAccess, str } from "./access.ts";
import { setStatus, WAITING_TABLES } from "./job-rows.ts";
import { BATCH, selectFailed } from "./select-failed.ts";
import { awaitedAmong, wakeParents } from "./job-waits.ts";
import { releaseSlots } from "./semaphores.ts";
import { lockStatuses } from "./status.ts";

/** A waiting job is a suspended parent (no state row, no slot); its children are the core's to discard. */
const DISCARDABLE = new Set<JobStatus>(["ready", "scheduled", "blocked", "waiting", "failed"]);

export async function jobDiscardMany(
  access: SqlAccess,
  p: { backend: string; ids?: string[]; filter?: JobFilter; now: Date },
): Promise<{ discarded: number; statuses: Map<string, JobStatus> }> {
  const t = p.now.getTime();
  const statuses = new Map<string, JobStatus>();
  let discarded = 0;
  const idBatches = p.ids ? chunks(p.ids, BATCH) : null;
  for (let i = 0;; i++) {
    if (idBatches && i >= idBatches.length) break;
    const count = await access.transaction(async (q) => {
      let ids: string[];
      if (idBatches) {
        const found = await lockStatuses(q, access, p.backend, idBatches[i]);
        for (const [id, status] of found) statuses.set(id, status);
        ids = [...found].filter(([, status]) => DISCARDABLE.has(status)).map(([id]) => id);
      } else {
        ids = (await selectFailed(q, access, p.backend, undefined, p.filter)).map((r) => str(r.job_id));
      }
      if (ids.length === 0) return 0;
      const inIds = placeholders(ids.length);
      for (const table of [...WAITING_TABLES, "stint_failed_executions"]) {
        await q.run(`DELETE FROM ${table} WHERE job_id IN (${inIds})`, ids);
      }
      await setStatus(q, ids, "discarded", t, true);
      // A ready job held a concurrency slot; a blocked, scheduled or failed one holds none.
      await releaseSlots(q, access, ids.filter((id) => statuses.get(id) === "ready"), t);
      const suspended = ids.filter((id) => statuses.get(id) === "waiting");
      if (suspended.length > 0) {
        await q.run(`UPDATE stint_jobs SET wait_count = 0 WHERE id IN (${placeholders(suspended.length)})`, suspended);
      }
      // Children their parents wait for have ended (a failed one had, and is no longer marked).
      await wakeParents(q, access, await awaitedAmong(q, access, ids), t);
      return ids.length;
    });
    discarded += count;
    if (!idBatches && count < BATCH) break;
  }
  return { discarded, statuses };
}
