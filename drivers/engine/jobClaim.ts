/**
 * The claim of the shared engine (libSQL, MySQL/MariaDB; PostgreSQL too in the
 * contract suite's postgres-engine target): one SELECT per queue selector, in
 * selector order, then the writes, all in one transaction.
 * Each SELECT runs down an index already in (priority DESC, job_id) order and
 * stops at LIMIT: (backend, queue, priority, job_id) for an exact queue,
 * (backend, priority, job_id) for "*" and prefixes. A later selector is read
 * only when the earlier ones came back short (selectors.ts).
 *
 * Why not one SELECT with the selector's rank in ORDER BY: that sorts every
 * matching ready row on each claim (SQLite: a temporary B-tree), and InnoDB
 * locks every row it reads before the sort (measured: 40,000 row locks to
 * claim 10 of 8,000 rows), so every other claimer then skips them all and
 * claims nothing.
 *
 * The pick joins the job rows for their task, payload (and a multi-step job's
 * workspace, step and parent, and its delivery) and attempts so far. On
 * MySQL it locks them too (MariaDB has no FOR UPDATE OF), which only delays a
 * concurrent cancel or discard of the same job until the claim commits.
 *
 * A process whose row is gone (pruned after an outage, deregistered) claims
 * nothing: its claims would belong to no live process, and the recovery that
 * pruned it may already have failed or retried what it held.
 */
import type { ClaimedJob, QueueSelector } from "../../src/records.ts";
import { num, placeholders, type Row, type SqlAccess, type SqlRunner, valuesList } from "./access.ts";
import { claimedJob, sortClaimed } from "./job-rows.ts";
import { armWhere, selectorArms, substrPrefix } from "./selectors.ts";

/** The SELECT of one selector's arm: `where` is armWhere's condition on `r`. */
export function pickSql(where: string, lockSuffix: string): string {
  return `SELECT j.id, j.task, j.queue, j.priority, j.payload, j.attempts, j.created_at, j.workspace, j.step,
      j.parent_id, j.delivery
    FROM stint_ready_executions r JOIN stint_jobs j ON j.id = r.job_id
    WHERE r.backend = ? AND ${where}
      AND NOT EXISTS (SELECT 1 FROM stint_pauses p WHERE p.backend = r.backend AND p.queue = r.queue)
    ORDER BY r.priority DESC, r.job_id LIMIT ? ${lockSuffix}`;
}

export function jobClaim(
  access: SqlAccess,
  p: { backend: string; processId: string; selectors: QueueSelector[]; limit: number; now: Date },
): Promise<ClaimedJob[]> {
  const t = p.now.getTime();
  const prefixMatch = access.prefixMatch ?? substrPrefix;
  return access.transaction(async (q) => {
    const picked: Row[] = [];
    for (const arm of selectorArms(p.selectors, prefixMatch)) {
      const want = p.limit - picked.length;
      if (want <= 0) break;
      const where = armWhere(arm);
      const rows = await q.query(pickSql(where.sql, access.lockSuffix), [p.backend, ...where.params, want]);
      picked.push(...rows);
    }
    if (picked.length === 0) return [];
    // Checked only when there is something to claim, so an idle poll costs no extra statement.
    const live = await q.query(`SELECT 1 AS live FROM stint_processes WHERE id = ? AND backend = ?`, [p.processId, p.backend]);
    if (live.length === 0) return [];
    // A picked ready row (its job's attempts so far in `attempts`) is the claim of the next attempt.
    const claimed = picked.map((r) => claimedJob(r, num(r.attempts) + 1, t));
    await markClaimed(q, p.backend, p.processId, claimed, t);
    return sortClaimed(claimed, p.selectors);
  });
}

/**
 * The writes of a claim: ready rows out, claimed rows in with the attempt they
 * start. The jobs' own rows are not written (job-rows.ts).
 */
async function markClaimed(
  q: SqlRunner,
  backend: string,
  processId: string,
  jobs: Array<{ id: string; attempt: number }>,
  t: number,
): Promise<void> {
  await q.run(
    `DELETE FROM stint_ready_executions WHERE job_id IN (${placeholders(jobs.length)})`,
    jobs.map((j) => j.id),
  );
  await q.run(
    `INSERT INTO stint_claimed_executions (job_id, backend, process_id, attempt, started_at, created_at) VALUES ${
      valuesList(6, jobs.length)
    }`,
    jobs.flatMap((j) => [j.id, backend, processId, j.attempt, t, t]),
  );
}
