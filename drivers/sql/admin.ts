/** Operator actions on stored jobs: read, retry, discard, cancel. */
import type { JobFilter, JobRecord, JobStatus } from "../../src/records.ts";
import {
  chunks,
  dateOrNull,
  num,
  type Param,
  placeholders,
  type SqlAccess,
  type SqlRunner,
  str,
  strOrNull,
} from "./access.ts";
import { setStatus } from "./jobs.ts";
import { attemptsOf, JOB_AND_CLAIM, lockStatuses, startedAtOf, statusOf } from "./status.ts";
import { admitJobs, releaseSlots } from "./concurrency.ts";

const WAITING_TABLES = ["stint_ready_executions", "stint_scheduled_executions", "stint_blocked_executions"];
const DISCARDABLE = new Set<JobStatus>(["ready", "scheduled", "blocked", "failed"]);
const BATCH = 500;

export async function getJob(access: SqlAccess, backend: string, id: string): Promise<JobRecord | null> {
  const rows = await access.query(`${JOB_AND_CLAIM} WHERE j.id = ? AND j.backend = ?`, [id, backend]);
  if (rows.length === 0) return null;
  const r = rows[0];
  const errors = await access.query(
    `SELECT attempt, error_name, error_message, error_stack, created_at FROM stint_job_errors
     WHERE job_id = ? ORDER BY id`,
    [id],
  );
  return {
    id: str(r.id),
    task: str(r.task),
    queue: str(r.queue),
    priority: num(r.priority),
    status: statusOf(r),
    payload: str(r.payload),
    returnValue: strOrNull(r.return_value),
    errors: errors.map((e) => ({
      attempt: num(e.attempt),
      name: str(e.error_name),
      message: str(e.error_message),
      stack: strOrNull(e.error_stack),
      at: new Date(num(e.created_at)),
    })),
    attempts: attemptsOf(r),
    concurrencyKey: strOrNull(r.concurrency_key),
    concurrency: r.concurrency_key === null || r.concurrency_key === undefined ? null : {
      key: str(r.concurrency_key),
      limit: num(r.concurrency_limit),
      durationMs: num(r.concurrency_duration_ms),
      onConflict: str(r.concurrency_on_conflict) === "discard" ? "discard" : "block",
    },
    enqueuedAt: new Date(num(r.created_at)),
    scheduledAt: new Date(num(r.scheduled_at)),
    startedAt: startedAtOf(r),
    finishedAt: dateOrNull(r.finished_at),
  };
}

function filterSql(filter: JobFilter | undefined): { sql: string; params: Param[] } {
  let sql = "";
  const params: Param[] = [];
  if (filter?.queue !== undefined) {
    sql += " AND j.queue = ?";
    params.push(filter.queue);
  }
  if (filter?.task !== undefined) {
    sql += " AND j.task = ?";
    params.push(filter.task);
  }
  return { sql, params };
}

/** Failed job ids of this backend, by explicit ids or by filter, a batch at a time. */
function selectFailed(q: SqlRunner, access: SqlAccess, backend: string, ids: string[] | undefined, filter?: JobFilter) {
  if (ids) {
    return q.query(
      `SELECT f.job_id FROM stint_failed_executions f WHERE f.backend = ? AND f.job_id IN (${
        placeholders(ids.length)
      }) ${access.lockSuffix}`,
      [backend, ...ids],
    );
  }
  const f = filterSql(filter);
  return q.query(
    `SELECT f.job_id FROM stint_failed_executions f JOIN stint_jobs j ON j.id = f.job_id
     WHERE f.backend = ?${f.sql} ORDER BY f.job_id LIMIT ${BATCH} ${access.lockSuffix}`,
    [backend, ...f.params],
  );
}

export async function retryJobs(
  access: SqlAccess,
  p: { backend: string; ids?: string[]; filter?: JobFilter; now: Date },
): Promise<number> {
  const t = p.now.getTime();
  let total = 0;
  const idBatches = p.ids ? chunks(p.ids, BATCH) : null;
  for (let i = 0;; i++) {
    if (idBatches && i >= idBatches.length) break;
    const count = await access.transaction(async (q) => {
      const rows = await selectFailed(q, access, p.backend, idBatches?.[i], p.filter);
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => str(r.job_id));
      const inIds = placeholders(ids.length);
      await q.run(`DELETE FROM stint_failed_executions WHERE job_id IN (${inIds})`, ids);
      // A cancel requested of the failed run does not carry over to the retried one.
      await q.run(
        `UPDATE stint_jobs SET finished_at = NULL, cancel_requested_at = NULL, scheduled_at = ?, updated_at = ?
         WHERE id IN (${inIds})`,
        [t, t, ...ids],
      );
      // Ready again through the concurrency gate: it may be blocked behind the key's holders.
      await admitJobs(q, access, ids, t);
      return ids.length;
    });
    total += count;
    if (!idBatches && count < BATCH) break;
  }
  return total;
}

export async function discardJobs(
  access: SqlAccess,
  p: { backend: string; ids?: string[]; filter?: JobFilter; now: Date },
): Promise<{ discarded: number; statuses: Map<string, JobStatus> }> {
  const t = p.now.getTime();
  const statuses = new Map<string, JobStatus>();
  let discarded = 0;
  const idBatches = p.ids ? chunks(p.ids, BATCH) : null;
  for (let i = 0;; i++) {
    if (idBatches && i >= idBatches.length) break;
    const count = await access.transaction(async (q) => {
      let ids: string[];
      if (idBatches) {
        const found = await lockStatuses(q, access, p.backend, idBatches[i]);
        for (const [id, status] of found) statuses.set(id, status);
        ids = [...found].filter(([, status]) => DISCARDABLE.has(status)).map(([id]) => id);
      } else {
        ids = (await selectFailed(q, access, p.backend, undefined, p.filter)).map((r) => str(r.job_id));
      }
      if (ids.length === 0) return 0;
      const inIds = placeholders(ids.length);
      for (const table of [...WAITING_TABLES, "stint_failed_executions"]) {
        await q.run(`DELETE FROM ${table} WHERE job_id IN (${inIds})`, ids);
      }
      await setStatus(q, ids, "discarded", t, true);
      // A ready job held a concurrency slot; a blocked, scheduled or failed one holds none.
      await releaseSlots(q, access, ids.filter((id) => statuses.get(id) === "ready"), t);
      return ids.length;
    });
    discarded += count;
    if (!idBatches && count < BATCH) break;
  }
  return { discarded, statuses };
}

export function cancelJob(access: SqlAccess, p: { backend: string; id: string; now: Date }): Promise<JobStatus | null> {
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const status = (await lockStatuses(q, access, p.backend, [p.id])).get(p.id);
    if (status === undefined) return null;
    if (status === "ready" || status === "scheduled" || status === "blocked") {
      for (const table of WAITING_TABLES) await q.run(`DELETE FROM ${table} WHERE job_id = ?`, [p.id]);
      await setStatus(q, [p.id], "cancelled", t, true);
      if (status === "ready") await releaseSlots(q, access, [p.id], t);
    } else if (status === "running") {
      await q.run(`UPDATE stint_jobs SET cancel_requested_at = ?, updated_at = ? WHERE id = ?`, [t, t, p.id]);
    }
    return status;
  });
}

export async function cancelRequested(access: SqlAccess, p: { backend: string; ids: string[] }): Promise<string[]> {
  const out: string[] = [];
  for (const batch of chunks(p.ids, BATCH)) {
    const rows = await access.query(
      `SELECT id FROM stint_jobs WHERE backend = ? AND id IN (${placeholders(batch.length)})
       AND cancel_requested_at IS NOT NULL`,
      [p.backend, ...batch],
    );
    for (const r of rows) out.push(str(r.id));
  }
  return out;
}
