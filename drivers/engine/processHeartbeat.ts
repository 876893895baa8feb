import type { SqlAccess } from "./access.ts";

export async function processHeartbeat(access: SqlAccess, p: { backend: string; id: string; now: Date }): Promise<boolean> {
  const changed = await access.run(
    `UPDATE stint_processes SET last_heartbeat_at = ? WHERE id = ? AND backend = ?`,
    [p.now.getTime(), p.id, p.backend],
  );
  return changed > 0;
}
