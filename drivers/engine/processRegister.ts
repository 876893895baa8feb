/** The process registry: every runner has a row it heartbeats. */
import type { ProcessInfo } from "../../src/records.ts";
import type { SqlAccess } from "./access.ts";

export async function processRegister(
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
