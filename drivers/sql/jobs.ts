/**
 * The hot path, shared by every SQL driver: insert, claim, finish, promote.
 *
 * Each operation is one transaction. A job moves between state tables by a
 * delete from one and an insert into the next, and its row in stint_jobs carries
 * the status that getResult reports; both change in the same transaction.
 *
 * One exception, for speed: a claim does not write the job's row. The claimed
 * row records the attempt and its start, and while it exists the job is
 * "running" whatever stint_jobs says (which stays "ready", with the attempts
 * finished so far). The finish copies the attempt and its start to the job's
 * row when it keeps the row. Readers derive the status (see status.ts).
 */
import type { ClaimedJob, InsertedJob, NewJob, Outcome, QueueSelector } from "../../src/records.ts";
import type { ErrorInfo } from "../../src/errors.ts";
import { chunks, num, type Param, placeholders, type SqlAccess, type SqlRunner, str, valuesList } from "./access.ts";
import { selectorRank } from "./selectors.ts";
import { acquireSlots, admitJobs, type BlockedRow, type InsertIgnore, insertBlockedRows, releaseSlots } from "./concurrency.ts";

const CHUNK = 500;
const JOB_COLUMNS = [
  "id", "backend", "task", "queue", "priority", "payload", "status", "concurrency_key", "concurrency_limit",
  "concurrency_duration_ms", "concurrency_on_conflict", "attempts", "scheduled_at", "created_at", "updated_at",
  "finished_at",
];

/**
 * `ig` (the driver's SqlAccess) lets a first use of a concurrency key create its
 * semaphore race-free; without it a duplicate create is caught instead.
 */
export async function insertJobs(
  q: SqlRunner,
  backend: string,
  jobs: NewJob[],
  now: Date,
  ig?: InsertIgnore,
): Promise<InsertedJob[]> {
  const t = now.getTime();
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
      );
      if (status === "ready") ready.push(job.id, backend, job.queue, job.priority, due, t);
      else if (status === "scheduled") scheduled.push(job.id, backend, job.queue, job.priority, due, t);
      else if (status === "blocked") blocked.push({ id: job.id, backend, queue: job.queue, priority: job.priority, policy: c! });
      out.push({ id: job.id, status });
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

/** A picked ready row (its job's attempts so far in `attempts`) as the claim of the next attempt. */
export function claimedFromPick(r: Record<string, unknown>): ClaimedJob {
  return { ...toClaimed(r), attempt: num(r.attempts) + 1 };
}

/**
 * The writes of a claim: ready rows out, claimed rows in with the attempt they
 * start. The jobs' own rows are not written (see the top of this file).
 */
export async function markClaimed(
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

/** FOR UPDATE (waiting) where the dialect locks rows; SQLite's write transaction already serializes. */
export function lockWait(access: SqlAccess): string {
  return access.lockWaitSuffix ?? (access.lockSuffix ? "FOR UPDATE" : "");
}

export function toClaimed(r: Record<string, unknown>): ClaimedJob {
  return {
    id: str(r.id),
    task: str(r.task),
    queue: str(r.queue),
    priority: num(r.priority),
    payload: str(r.payload),
    attempt: num(r.attempts),
    enqueuedAt: new Date(num(r.created_at)),
  };
}

/** Selector rank, then priority, then age (ids are time-ordered UUIDv7). */
export function sortClaimed(jobs: ClaimedJob[], selectors: QueueSelector[]): ClaimedJob[] {
  const rank = new Map(jobs.map((j) => [j.id, selectorRank(selectors, j.queue)]));
  return jobs.sort((a, b) =>
    rank.get(a.id)! - rank.get(b.id)! || b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** A claim being finished: the attempt it ran and when that started. */
interface Held {
  attempt: number;
  startedAt: number;
}

export function finishJobs(
  access: SqlAccess,
  p: { backend: string; processId: string | null; outcomes: Outcome[]; preserveFinished: boolean; now: Date },
): Promise<string[]> {
  if (p.outcomes.length === 0) return Promise.resolve([]);
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const held = new Map<string, Held>();
    for (const batch of chunks(p.outcomes, CHUNK)) {
      const ids = batch.map((o) => o.id);
      const owner = p.processId === null
        ? `c.backend = ? AND (c.process_id IS NULL OR NOT EXISTS (SELECT 1 FROM stint_processes sp WHERE sp.id = c.process_id))`
        : "c.process_id = ?";
      // A waiting lock: an orphan recovery racing the owner's late finish must apply one outcome, not two.
      const rows = await q.query(
        `SELECT c.job_id, c.attempt, c.started_at FROM stint_claimed_executions c
         WHERE ${owner} AND c.job_id IN (${placeholders(ids.length)}) ${lockWait(access)}`,
        [p.processId ?? p.backend, ...ids],
      );
      for (const r of rows) held.set(str(r.job_id), { attempt: num(r.attempt), startedAt: num(r.started_at) });
    }
    // An outcome for another claim of the job (a retried write that had committed) does not apply.
    const mine = p.outcomes.filter((o) => {
      const h = held.get(o.id);
      return h !== undefined && (!o.claim || (o.claim.attempt === h.attempt && o.claim.startedAt === h.startedAt));
    });
    if (mine.length === 0) return [];
    for (const batch of chunks(mine, CHUNK)) {
      const ids = batch.map((o) => o.id);
      await q.run(`DELETE FROM stint_claimed_executions WHERE job_id IN (${placeholders(ids.length)})`, ids);
    }
    // Only the claims removed just above give their slot back (a pruned claim, already
    // failed, is not held any more); a job released at shutdown keeps its slot.
    await releaseSlots(q, access, mine.filter((o) => o.kind !== "released").map((o) => o.id), t);
    const ended = (status: string) => (): [string, Param[]] => [
      `status = '${status}', finished_at = ?, updated_at = ?`,
      [t, t],
    ];
    const byKind = <K extends Outcome["kind"]>(kind: K) =>
      mine.filter((o): o is Extract<Outcome, { kind: K }> => o.kind === kind);

    const succeeded = byKind("succeeded");
    if (p.preserveFinished) {
      for (const batch of chunks(succeeded, CHUNK)) {
        const values = new Map(batch.map((o) => [o.id, o.returnValue]));
        await updateFinished(q, held, batch.map((o) => o.id), (ids) => [
          `status = 'succeeded', finished_at = ?, updated_at = ?, return_value = CASE id ${
            ids.map(() => "WHEN ? THEN ?").join(" ")
          } END`,
          [t, t, ...ids.flatMap((id) => [id, values.get(id)!])],
        ]);
      }
    } else {
      await deleteJobs(q, succeeded.map((o) => o.id));
    }

    const failed = byKind("failed");
    await recordErrors(q, p.backend, failed, held, t);
    for (const batch of chunks(failed, CHUNK)) {
      await q.run(
        `INSERT INTO stint_failed_executions (job_id, backend, error_name, error_message, error_stack, created_at)
         VALUES ${valuesList(6, batch.length)}`,
        batch.flatMap((o) => [o.id, p.backend, o.error.name, o.error.message, o.error.stack, t]),
      );
      await updateFinished(q, held, batch.map((o) => o.id), ended("failed"));
    }

    const cancelled = byKind("cancelled");
    await recordErrors(q, p.backend, cancelled, held, t);
    for (const batch of chunks(cancelled, CHUNK)) {
      await updateFinished(q, held, batch.map((o) => o.id), ended("cancelled"));
    }

    const retries = byKind("retry");
    await recordErrors(q, p.backend, retries, held, t);
    for (const batch of chunks(retries, CHUNK)) {
      await updateFinished(q, held, batch.map((o) => o.id), () => [`updated_at = ?`, [t]]);
    }
    for (const o of retries) await reschedule(q, access, o.id, o.retryAt.getTime(), t);

    // A released job goes back as it was: its row never recorded the attempt.
    const released = byKind("released");
    for (const batch of chunks(released, CHUNK)) {
      const ids = batch.map((o) => o.id);
      const inIds = placeholders(ids.length);
      await q.run(
        `INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
         SELECT id, backend, queue, priority, ?, ? FROM stint_jobs WHERE id IN (${inIds})`,
        [t, t, ...ids],
      );
      await q.run(`UPDATE stint_jobs SET status = 'ready', updated_at = ? WHERE id IN (${inIds})`, [t, ...ids]);
    }
    return mine.map((o) => o.id);
  });
}

export async function deleteJobs(q: SqlRunner, ids: string[]): Promise<void> {
  for (const batch of chunks(ids, CHUNK)) {
    const inIds = placeholders(batch.length);
    await q.run(`DELETE FROM stint_job_errors WHERE job_id IN (${inIds})`, batch);
    await q.run(`DELETE FROM stint_jobs WHERE id IN (${inIds})`, batch);
  }
}

/**
 * Copies each claim's attempt and start to its job's row, with the assignments
 * `set` gives for those ids, when the claim ends in a kept outcome. One
 * statement per (attempt, start): jobs claimed together share both.
 */
async function updateFinished(
  q: SqlRunner,
  held: Map<string, Held>,
  ids: string[],
  set: (ids: string[]) => [string, Param[]],
): Promise<void> {
  const groups = new Map<string, string[]>();
  for (const id of ids) {
    const h = held.get(id)!;
    const key = `${h.attempt}:${h.startedAt}`;
    const group = groups.get(key);
    if (group) group.push(id);
    else groups.set(key, [id]);
  }
  for (const group of groups.values()) {
    const { attempt, startedAt } = held.get(group[0])!;
    const [assignments, params] = set(group);
    await q.run(
      `UPDATE stint_jobs SET attempts = ?, started_at = ?, ${assignments} WHERE id IN (${placeholders(group.length)})`,
      [attempt, startedAt, ...params, ...group],
    );
  }
}

export function setStatus(q: SqlRunner, ids: string[], status: string, t: number, finished: boolean): Promise<number> {
  return q.run(
    `UPDATE stint_jobs SET status = ?, updated_at = ?${finished ? ", finished_at = ?" : ""} WHERE id IN (${
      placeholders(ids.length)
    })`,
    finished ? [status, t, t, ...ids] : [status, t, ...ids],
  );
}

async function recordErrors(
  q: SqlRunner,
  backend: string,
  outcomes: Array<{ id: string; error: ErrorInfo }>,
  held: Map<string, Held>,
  t: number,
): Promise<void> {
  for (const batch of chunks(outcomes, CHUNK)) {
    await q.run(
      `INSERT INTO stint_job_errors (job_id, backend, attempt, error_name, error_message, error_stack, created_at)
       VALUES ${valuesList(7, batch.length)}`,
      batch.flatMap((o) => [o.id, backend, held.get(o.id)!.attempt, o.error.name, o.error.message, o.error.stack, t]),
    );
  }
}

async function reschedule(q: SqlRunner, ig: InsertIgnore, id: string, at: number, t: number): Promise<void> {
  if (at <= t) {
    // Ready again at once: through the concurrency gate like any job becoming ready.
    await q.run(`UPDATE stint_jobs SET scheduled_at = ?, updated_at = ? WHERE id = ?`, [t, t, id]);
    await admitJobs(q, ig, [id], t);
    return;
  }
  await q.run(
    `INSERT INTO stint_scheduled_executions (job_id, backend, queue, priority, scheduled_at, created_at)
     SELECT id, backend, queue, priority, ?, ? FROM stint_jobs WHERE id = ?`,
    [at, t, id],
  );
  await q.run(`UPDATE stint_jobs SET status = 'scheduled', scheduled_at = ?, updated_at = ? WHERE id = ?`, [at, t, id]);
}

export function promoteDue(
  access: SqlAccess,
  p: { backend: string; limit: number; now: Date },
): Promise<{ count: number; queues: string[] }> {
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const rows = await q.query(
      `SELECT job_id, queue, priority, scheduled_at FROM stint_scheduled_executions
       WHERE backend = ? AND scheduled_at <= ? ORDER BY scheduled_at, priority DESC, job_id LIMIT ? ${access.lockSuffix}`,
      [p.backend, t, p.limit],
    );
    if (rows.length === 0) return { count: 0, queues: [] };
    const ids = rows.map((r) => str(r.job_id));
    await q.run(`DELETE FROM stint_scheduled_executions WHERE job_id IN (${placeholders(ids.length)})`, ids);
    // A due job with a concurrency policy takes a slot here, or is blocked or discarded.
    const latency = new Map(rows.map((r) => [str(r.job_id), num(r.scheduled_at)]));
    const { readyQueues } = await admitJobs(q, access, ids, t, latency);
    return { count: ids.length, queues: [...new Set(readyQueues.map((r) => r.queue))] };
  });
}
