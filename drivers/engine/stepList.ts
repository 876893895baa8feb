import { type SqlAccess, str } from "./access.ts";

export async function stepList(access: SqlAccess, p: { backend: string; jobId: string }): Promise<Map<string, string>> {
  const rows = await access.query(`SELECT name, value FROM stint_steps WHERE job_id = ? AND backend = ?`, [
    p.jobId,
    p.backend,
  ]);
  return new Map(rows.map((r) => [str(r.name), str(r.value)]));
}
