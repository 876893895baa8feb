import type { ProcessRecord } from "../../src/records.ts";
import { num, numOrNull, type SqlAccess, str, strOrNull } from "./access.ts";

export async function processList(access: SqlAccess, p: { backend: string }): Promise<ProcessRecord[]> {
  const rows = await access.query(
    `SELECT id, kind, name, pid, hostname, metadata, supervisor_id, last_heartbeat_at, created_at
     FROM stint_processes WHERE backend = ? ORDER BY created_at, name`,
    [p.backend],
  );
  return rows.map((r) => ({
    id: str(r.id),
    kind: str(r.kind),
    name: str(r.name),
    pid: numOrNull(r.pid),
    hostname: strOrNull(r.hostname),
    metadata: parseObject(r.metadata),
    supervisorId: strOrNull(r.supervisor_id),
    lastHeartbeatAt: new Date(num(r.last_heartbeat_at)),
    createdAt: new Date(num(r.created_at)),
  }));
}

function parseObject(value: unknown): Record<string, unknown> {
  try {
    const parsed = JSON.parse(String(value ?? "{}"));
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}
