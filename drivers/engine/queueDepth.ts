/**
 * Jobs waiting to run, by queue: ready, scheduled and blocked rows counted in
 * one statement (one round trip per chunk of queues). A claimed job is no
 * longer waiting, and a finished one never was. With `dueBy`, scheduled jobs
 * due later are left out (django-db-queue's --exclude-future-jobs); a scheduled
 * job already due but not yet promoted still counts.
 */
import { chunks, num, placeholders, type SqlAccess, str } from "./access.ts";

/** Three IN lists per statement: well inside SQLite's oldest limit of 999 parameters. */
const QUEUES_PER_STATEMENT = 300;

export async function queueDepth(
  access: SqlAccess,
  p: { backend: string; queues?: string[]; dueBy?: Date },
): Promise<Map<string, number>> {
  const depths = new Map<string, number>();
  const groups = p.queues === undefined ? [undefined] : chunks([...new Set(p.queues)], QUEUES_PER_STATEMENT);
  for (const queues of groups) {
    const inQueues = queues === undefined ? "" : ` AND queue IN (${placeholders(queues.length)})`;
    const scope = [p.backend, ...(queues ?? [])];
    const due = p.dueBy === undefined ? "" : " AND scheduled_at <= ?";
    const rows = await access.query(
      `SELECT queue, COUNT(*) AS n FROM (
         SELECT queue FROM stint_ready_executions WHERE backend = ?${inQueues}
         UNION ALL SELECT queue FROM stint_scheduled_executions WHERE backend = ?${inQueues}${due}
         UNION ALL SELECT queue FROM stint_blocked_executions WHERE backend = ?${inQueues}
       ) waiting_jobs GROUP BY queue`,
      [...scope, ...scope, ...(p.dueBy === undefined ? [] : [p.dueBy.getTime()]), ...scope],
    );
    for (const r of rows) depths.set(str(r.queue), num(r.n));
  }
  return depths;
}
