/** The process registry: every runner has a row it heartbeats. */
import type { ProcessInfo } from "../../src/driver.ts";
import type { SqlAccess } from "./access.ts";

export async function registerProcess(
  access: SqlAccess,
  p: { backend: string; id: string; info: ProcessInfo; now: Date },
): Promise<void> {
  const t = p.now.getTime();
  const i = p.info;
  // supervisor_key is the supervisor id or "" so that the unique key
  // (backend, name, supervisor_key) also holds for top-level rows.
  await access.run(
    `INSERT INTO stint_processes (id, backend, kind, name, pid, hostname, metadata, supervisor_id, supervisor_key,
       last_heartbeat_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      p.id, p.backend, i.kind, i.name, i.pid, i.hostname, JSON.stringify(i.metadata), i.supervisorId,
      i.supervisorId ?? "", t, t,
    ],
  );
}

export async function heartbeatProcess(access: SqlAccess, p: { backend: string; id: string; now: Date }): Promise<boolean> {
  const changed = await access.run(
    `UPDATE stint_processes SET last_heartbeat_at = ? WHERE id = ? AND backend = ?`,
    [p.now.getTime(), p.id, p.backend],
  );
  return changed > 0;
}

export function deregisterProcess(access: SqlAccess, p: { backend: string; id: string }): Promise<void> {
  return access.transaction(async (q) => {
    await q.run(`UPDATE stint_claimed_executions SET process_id = NULL WHERE process_id = ?`, [p.id]);
    await q.run(`DELETE FROM stint_processes WHERE id = ? AND backend = ?`, [p.id, p.backend]);
  });
}
