import type { OrphanClaim } from "../../src/records.ts";
import { placeholders, type SqlAccess, type SqlRunner, str } from "./access.ts";
import { CLAIM_COLUMNS, claimOfRow } from "./job-rows.ts";

export function processPruneStale(
  access: SqlAccess,
  p: { backend: string; staleBefore: Date; exceptIds?: string[]; deadIds?: string[] },
): Promise<{ pruned: string[]; claims: OrphanClaim[] }> {
  const except = p.exceptIds ?? [];
  const dead = (p.deadIds ?? []).filter((id) => !except.includes(id));
  return access.transaction(async (q: SqlRunner) => {
    const rows = await q.query(
      `SELECT id FROM stint_processes WHERE backend = ?
         AND (last_heartbeat_at < ?${dead.length ? ` OR id IN (${placeholders(dead.length)})` : ""})
         ${except.length ? `AND id NOT IN (${placeholders(except.length)})` : ""} ${access.lockSuffix}`,
      [p.backend, p.staleBefore.getTime(), ...dead, ...except],
    );
    const pruned = rows.map((r) => str(r.id));
    if (pruned.length === 0) return { pruned, claims: [] };
    const inIds = placeholders(pruned.length);
    const claims = await q.query(
      `SELECT ${CLAIM_COLUMNS} FROM stint_claimed_executions c JOIN stint_jobs j ON j.id = c.job_id
       WHERE c.process_id IN (${inIds})`,
      pruned,
    );
    await q.run(`UPDATE stint_claimed_executions SET process_id = NULL WHERE process_id IN (${inIds})`, pruned);
    await q.run(`DELETE FROM stint_processes WHERE id IN (${inIds})`, pruned);
    return { pruned, claims: claims.map(claimOfRow) };
  });
}
