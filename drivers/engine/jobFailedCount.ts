import { num, type SqlAccess, str } from "./access.ts";

export async function jobFailedCount(access: SqlAccess, p: { backend: string }): Promise<Map<string, number>> {
  const rows = await access.query(
    `SELECT j.queue AS queue, COUNT(*) AS n FROM stint_failed_executions f JOIN stint_jobs j ON j.id = f.job_id
     WHERE f.backend = ? GROUP BY j.queue`,
    [p.backend],
  );
  return new Map(rows.map((r) => [str(r.queue), num(r.n)]));
}
