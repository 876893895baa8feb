import type { OrphanClaim } from "../../src/records.ts";
import type { SqlAccess } from "./access.ts";
import { CLAIM_COLUMNS, claimOfRow } from "./job-rows.ts";

export async function claimListOrphaned(access: SqlAccess, p: { backend: string }): Promise<OrphanClaim[]> {
  const rows = await access.query(
    `SELECT ${CLAIM_COLUMNS} FROM stint_claimed_executions c JOIN stint_jobs j ON j.id = c.job_id
     WHERE c.backend = ? AND (c.process_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM stint_processes sp WHERE sp.id = c.process_id))`,
    [p.backend],
  );
  return rows.map(claimOfRow);
}
