import type { SemaphoreRecord } from "../../src/records.ts";
import { num, type SqlAccess, str } from "./access.ts";

/** Semaphores (database-wide) with how many jobs wait on each; busiest first. */
export async function semaphoreList(access: SqlAccess, p: { limit: number }): Promise<SemaphoreRecord[]> {
  const rows = await access.query(
    `SELECT s.semaphore_key, s.value, s.limit_value, s.expires_at,
       (SELECT COUNT(*) FROM stint_blocked_executions b WHERE b.concurrency_key = s.semaphore_key) AS waiters
     FROM stint_semaphores s ORDER BY s.value, s.semaphore_key LIMIT ?`,
    [p.limit],
  );
  return rows.map((r) => ({
    key: str(r.semaphore_key),
    value: num(r.value),
    limit: num(r.limit_value),
    expiresAt: new Date(num(r.expires_at)),
    waiters: num(r.waiters),
  }));
}
