import type { JobStatus } from "../../src/records.ts";
import type { SqlAccess } from "./access.ts";
import { setStatus, WAITING_TABLES } from "./job-rows.ts";
import { releaseSlots } from "./semaphores.ts";
import { lockStatuses } from "./status.ts";

export function jobCancel(access: SqlAccess, p: { backend: string; id: string; now: Date }): Promise<JobStatus | null> {
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const status = (await lockStatuses(q, access, p.backend, [p.id])).get(p.id);
    if (status === undefined) return null;
    if (status === "ready" || status === "scheduled" || status === "blocked") {
      for (const table of WAITING_TABLES) await q.run(`DELETE FROM ${table} WHERE job_id = ?`, [p.id]);
      await setStatus(q, [p.id], "cancelled", t, true);
      if (status === "ready") await releaseSlots(q, access, [p.id], t);
    } else if (status === "running") {
      await q.run(`UPDATE stint_jobs SET cancel_requested_at = ?, updated_at = ? WHERE id = ?`, [t, t, p.id]);
    }
    return status;
  });
}
