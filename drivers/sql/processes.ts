/** The process registry: every runner has a row it heartbeats. */
import type { HeldClaim, OrphanClaim, ProcessInfo } from "../../src/records.ts";
import { num, placeholders, type SqlAccess, type SqlRunner, str } from "./access.ts";
import { toClaimed } from "./jobs.ts";

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

/** A claim as the worker got it: the attempt is the claimed row's. */
const CLAIM_COLUMNS = "j.id, j.task, j.queue, j.priority, j.payload, c.attempt AS attempts, j.created_at";

export function pruneStaleProcesses(
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
    return { pruned, claims: claims.map(toClaimed) };
  });
}

export async function orphanedClaims(access: SqlAccess, p: { backend: string }): Promise<OrphanClaim[]> {
  const rows = await access.query(
    `SELECT ${CLAIM_COLUMNS} FROM stint_claimed_executions c JOIN stint_jobs j ON j.id = c.job_id
     WHERE c.backend = ? AND (c.process_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM stint_processes sp WHERE sp.id = c.process_id))`,
    [p.backend],
  );
  return rows.map(toClaimed);
}

export async function heldClaims(
  access: SqlAccess,
  p: { backend: string; processId: string },
): Promise<HeldClaim[]> {
  const rows = await access.query(
    `SELECT job_id, attempt, started_at FROM stint_claimed_executions WHERE process_id = ? AND backend = ?`,
    [p.processId, p.backend],
  );
  return rows.map((r) => ({ id: str(r.job_id), attempt: num(r.attempt), startedAt: num(r.started_at) }));
}
