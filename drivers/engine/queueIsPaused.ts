import type { SqlAccess } from "./access.ts";

export async function queueIsPaused(access: SqlAccess, p: { backend: string; queue: string }): Promise<boolean> {
  const rows = await access.query(`SELECT 1 AS one FROM stint_pauses WHERE backend = ? AND queue = ?`, [p.backend, p.queue]);
  return rows.length > 0;
}
