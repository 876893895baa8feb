import type { JobStatus } from "../../src/records.ts";
import type { SqlAccess } from "./access.ts";
import { setStatus, WAITING_TABLES } from "./job-rows.ts";
import { awaitedAmong, wakeParents } from "./job-waits.ts";
import { releaseSlots } from "./semaphores.ts";
import { lockStatuses } from "./status.ts";

/** Statuses a cancel ends at once; a running job is asked to stop (its finish ends it). */
const WAITING_TO_RUN = new Set<JobStatus>(["ready", "scheduled", "blocked", "waiting"]);

export function jobCancel(access: SqlAccess, p: { backend: string; id: string; now: Date }): Promise<JobStatus | null> {
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const status = (await lockStatuses(q, access, p.backend, [p.id])).get(p.id);
    if (status === undefined) return null;
    if (WAITING_TO_RUN.has(status)) {
      for (const table of WAITING_TABLES) await q.run(`DELETE FROM ${table} WHERE job_id = ?`, [p.id]);
      await setStatus(q, [p.id], "cancelled", t, true);
      // A suspended parent (no state row, no slot) stops waiting; its children are the core's to cancel.
      if (status === "waiting") await q.run(`UPDATE stint_jobs SET wait_count = 0 WHERE id = ?`, [p.id]);
      if (status === "ready") await releaseSlots(q, access, [p.id], t);
      // A child its parent waits for has ended: the parent may be ready now.
      await wakeParents(q, access, await awaitedAmong(q, access, [p.id]), t);
    } else if (status === "running") {
      await q.run(`UPDATE stint_jobs SET cancel_requested_at = ?, updated_at = ? WHERE id = ?`, [t, t, p.id]);
    }
    return status;
  });
}
