/**
 * Inserting jobs: each job's row and its first state row (ready, scheduled,
 * or, past the concurrency gate, blocked or discarded), one statement per
 * table and batch.
 */
import type { InsertedJob, NewJob } from "../../src/records.ts";
import { chunks, type Param, type SqlAccess, type SqlRunner, valuesList } from "./access.ts";
import { CHUNK } from "./job-rows.ts";
import { keyedHandles, resolveKeys } from "./job-keys.ts";
import { acquireSlots, type BlockedRow, insertBlockedRows } from "./semaphores.ts";

const JOB_COLUMNS = [
  "id", "backend", "task", "queue", "priority", "payload", "status", "concurrency_key", "concurrency_limit",
  "concurrency_duration_ms", "concurrency_on_conflict", "attempts", "scheduled_at", "created_at", "updated_at",
  "finished_at", "step", "parent_id", "unique_key", "delivery",
];

/** In one transaction of ours, or in the caller's `tx`. */
export function jobInsertMany(
  access: SqlAccess,
  p: { backend: string; jobs: NewJob[]; now: Date; tx?: unknown },
): Promise<InsertedJob[]> {
  return p.tx === undefined
    ? access.transaction((q) => jobInsertManyIn(q, access, p))
    : jobInsertManyIn(access.runnerForUserTx(p.tx), access, p);
}

/**
 * jobInsertMany inside a transaction the caller holds. `ig` (the driver's
 * SqlAccess) lets a first use of a concurrency key create its semaphore
 * race-free, and a unique key lock its row in the dialect's way (job-keys.ts).
 */
export async function jobInsertManyIn(
  q: SqlRunner,
  ig: SqlAccess,
  p: { backend: string; jobs: NewJob[]; now: Date },
): Promise<InsertedJob[]> {
  const t = p.now.getTime();
  if (!p.jobs.some((j) => j.key != null)) return await insertFresh(q, ig, p.backend, p.jobs, t);
  // Keys first, in order: a duplicate writes no new row (or rewrites the waiting one).
  const resolution = await resolveKeys(q, ig, p.backend, p.jobs, t);
  return keyedHandles(resolution, await insertFresh(q, ig, p.backend, resolution.fresh, t));
}

async function insertFresh(
  q: SqlRunner,
  ig: SqlAccess,
  backend: string,
  jobs: NewJob[],
  t: number,
): Promise<InsertedJob[]> {
  const out: InsertedJob[] = [];
  // Jobs with a concurrency policy that are due now take a slot, or are blocked or discarded.
  const gated = jobs.filter((j) => j.concurrency !== null && j.scheduledAt.getTime() <= t);
  const admission = gated.length > 0
    ? await acquireSlots(q, ig, gated.map((j) => ({ id: j.id, policy: j.concurrency! })), t)
    : null;
  for (const batch of chunks(jobs, CHUNK)) {
    const params: Param[] = [];
    const ready: Param[] = [];
    const scheduled: Param[] = [];
    const blocked: BlockedRow[] = [];
    for (const job of batch) {
      const due = job.scheduledAt.getTime();
      const status = due > t ? "scheduled" : admission?.get(job.id) ?? "ready";
      const c = job.concurrency;
      params.push(
        job.id, backend, job.task, job.queue, job.priority, job.payload, status, c?.key ?? null, c?.limit ?? null,
        c?.durationMs ?? null, c?.onConflict ?? null, 0, due, t, t, status === "discarded" ? t : null,
        job.step ?? null, job.parentId ?? null, job.key ?? null, job.delivery ?? null,
      );
      if (status === "ready") ready.push(job.id, backend, job.queue, job.priority, due, t);
      else if (status === "scheduled") scheduled.push(job.id, backend, job.queue, job.priority, due, t);
      else if (status === "blocked") blocked.push({ id: job.id, backend, queue: job.queue, priority: job.priority, policy: c! });
      out.push({ id: job.id, status, duplicate: false });
    }
    await q.run(
      `INSERT INTO stint_jobs (${JOB_COLUMNS.join(", ")}) VALUES ${valuesList(JOB_COLUMNS.length, batch.length)}`,
      params,
    );
    if (ready.length) await insertReadyRows(q, ready);
    if (blocked.length) await insertBlockedRows(q, blocked, t);
    if (scheduled.length) {
      await q.run(
        `INSERT INTO stint_scheduled_executions (job_id, backend, queue, priority, scheduled_at, created_at) VALUES ${
          valuesList(6, scheduled.length / 6)
        }`,
        scheduled,
      );
    }
  }
  return out;
}

/** rows: flat (job_id, backend, queue, priority, latency_started_at, created_at) tuples */
function insertReadyRows(q: SqlRunner, rows: Param[]): Promise<number> {
  return q.run(
    `INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at) VALUES ${
      valuesList(6, rows.length / 6)
    }`,
    rows,
  );
}
