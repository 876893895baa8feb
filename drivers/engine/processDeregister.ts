import type { SqlAccess } from "./access.ts";

export function processDeregister(access: SqlAccess, p: { backend: string; id: string }): Promise<void> {
  return access.transaction(async (q) => {
    await q.run(`UPDATE stint_claimed_executions SET process_id = NULL WHERE process_id = ?`, [p.id]);
    await q.run(`DELETE FROM stint_processes WHERE id = ? AND backend = ?`, [p.id, p.backend]);
  });
}
