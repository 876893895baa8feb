import type { HeldClaim } from "../../src/records.ts";
import { num, type SqlAccess, str } from "./access.ts";

export async function claimListHeld(
  access: SqlAccess,
  p: { backend: string; processId: string },
): Promise<HeldClaim[]> {
  const rows = await access.query(
    `SELECT job_id, attempt, started_at FROM stint_claimed_executions WHERE process_id = ? AND backend = ?`,
    [p.processId, p.backend],
  );
  return rows.map((r) => ({ id: str(r.job_id), attempt: num(r.attempt), startedAt: num(r.started_at) }));
}
