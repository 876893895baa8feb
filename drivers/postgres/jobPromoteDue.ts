/**
 * Due scheduled jobs to ready in one PostgreSQL statement, with the same
 * effects as the shared engine's jobPromoteDue (drivers/engine/jobPromoteDue.ts);
 * the contract suite runs on both.
 */
import { num, type SqlAccess, type SqlRunner, str } from "../engine/access.ts";
import * as engine from "../engine/jobPromoteDue.ts";
import { literalLimit } from "./access.ts";
import { notifyExpr, notifyQueues } from "./notify.ts";

const promoteSql = (limit: number, notify: boolean) =>
  `WITH due AS MATERIALIZED (
    SELECT s.job_id FROM stint_scheduled_executions s JOIN stint_jobs j ON j.id = s.job_id
    WHERE s.backend = $1 AND s.scheduled_at <= $2 AND j.concurrency_key IS NULL
    ORDER BY s.scheduled_at, s.priority DESC, s.job_id LIMIT ${literalLimit(limit)} FOR UPDATE OF s SKIP LOCKED
  ), gone AS (
    DELETE FROM stint_scheduled_executions s USING due WHERE s.job_id = due.job_id
    RETURNING s.job_id, s.queue, s.priority, s.scheduled_at
  ), ready AS (
    INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
    SELECT job_id, $1, queue, priority, scheduled_at, $2 FROM gone
  ), jobs AS (
    UPDATE stint_jobs j SET status = 'ready', updated_at = $2 FROM gone WHERE j.id = gone.job_id
  )
  SELECT queue, count(*) AS n, NULL AS keyed, ${notifyExpr("$1", "queue", notify)} AS notified FROM gone GROUP BY queue
  UNION ALL
  SELECT NULL, NULL, EXISTS (
    SELECT 1 FROM (
      SELECT s.job_id FROM stint_scheduled_executions s WHERE s.backend = $1 AND s.scheduled_at <= $2
      ORDER BY s.scheduled_at, s.priority DESC, s.job_id LIMIT ${2 * literalLimit(limit)}
    ) AS d JOIN stint_jobs j ON j.id = d.job_id
    WHERE j.concurrency_key IS NOT NULL
  ), NULL`;

/**
 * Due scheduled jobs to ready in one statement that also sends their wake-ups.
 * Due jobs with a concurrency policy go through the shared engine; the check
 * for them looks at the next 2 × limit due rows only, which covers every due
 * row left when this batch came back short (a full batch means "call again").
 */
export async function jobPromoteDue(
  access: SqlAccess,
  hot: SqlRunner,
  p: { backend: string; limit: number; now: Date; notify: boolean },
): Promise<{ count: number; queues: string[] }> {
  if (!(p.limit >= 1)) return { count: 0, queues: [] };
  const rows = await hot.query(promoteSql(p.limit, p.notify), [p.backend, p.now.getTime()]);
  let count = 0;
  const queues = new Set<string>();
  let keyed = false;
  for (const r of rows) {
    if (r.queue === null) keyed = r.keyed === true;
    else {
      count += num(r.n);
      queues.add(str(r.queue));
    }
  }
  if (keyed && count < p.limit) {
    const more = await engine.jobPromoteDue(access, { ...p, limit: p.limit - count });
    if (more.count > 0) await notifyQueues(access, p.backend, more.queues, p.notify);
    count += more.count;
    for (const q of more.queues) queues.add(q);
  }
  return { count, queues: [...queues] };
}
