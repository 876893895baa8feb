/**
 * A running job's latest progress (ctx.progress, DESIGN §12): one UPDATE of its
 * row, made only while `processId` still holds the claim (this attempt, this
 * start), like stepSave. A write after the outcome, a recovery or a lost claim
 * changes nothing, so a late value never overwrites what the holder stored last.
 */
import type { ClaimToken } from "../../src/records.ts";
import type { SqlAccess } from "./access.ts";

export async function jobProgress(
  access: SqlAccess,
  p: { backend: string; processId: string; jobId: string; claim: ClaimToken; value: string; now: Date },
): Promise<boolean> {
  const changed = await access.run(
    `UPDATE stint_jobs SET progress = ?, progress_at = ?
     WHERE id = ? AND backend = ? AND EXISTS (
       SELECT 1 FROM stint_claimed_executions
       WHERE job_id = ? AND backend = ? AND process_id = ? AND attempt = ? AND started_at = ?)`,
    [p.value, p.now.getTime(), p.jobId, p.backend, p.jobId, p.backend, p.processId, p.claim.attempt, p.claim.startedAt],
  );
  return changed > 0;
}
