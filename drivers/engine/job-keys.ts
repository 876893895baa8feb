/**
 * Unique jobs (DESIGN §11): at most one job per (backend, key) waits to run.
 *
 * stint_job_keys names, per key, the job that took it last. Every enqueue of a
 * key first locks that row (creating it, pointing at the new job, when it is
 * missing), so enqueues of one key line up behind each other on every
 * database. Then it looks at the holder, locking the holder's rows as a cancel
 * does (status.ts lockStatuses), so a claim cannot take it mid-replace:
 *
 *   holder waiting (ready, scheduled, blocked, waiting) → a duplicate: skip leaves it
 *                                                         as it is, replace rewrites it
 *   holder running  → skip: a duplicate; replace: the new job takes the key
 *   holder ended, or gone (deleted) → the new job takes the key
 *
 * So a job that ends needs no write here (the finish path never touches keys):
 * its row is simply taken over by the key's next enqueue. Lock order: the key
 * row, then the job's row, then its state row.
 */
import type { InsertedJob, JobStatus, NewJob } from "../../src/records.ts";
import { chunks, placeholders, type SqlAccess, type SqlRunner, str, valuesList } from "./access.ts";
import { CHUNK, setStatus } from "./job-rows.ts";
import { admitJobs, releaseSlots } from "./semaphores.ts";
import { lockStatuses } from "./status.ts";

/** Statuses of a job that waits to run: the ones that hold a key against every enqueue. */
export const KEY_WAITING = new Set<JobStatus>(["ready", "scheduled", "blocked", "waiting"]);

const STATE_TABLE: Partial<Record<JobStatus, string>> = {
  ready: "stint_ready_executions",
  scheduled: "stint_scheduled_executions",
  blocked: "stint_blocked_executions",
};

/**
 * Locks the keys' rows, creating each missing one for its job, and returns
 * each key's holder (the given job when created). An upsert, because it locks
 * a row whether it inserted it or found it: an insert-if-absent followed by a
 * locking read would, on MariaDB, take a shared lock first, and two enqueues
 * upgrading theirs would deadlock every time. Keys are locked in sorted order
 * (as semaphores are), so two batches never deadlock on them.
 */
export async function lockKeys(
  q: SqlRunner,
  access: SqlAccess,
  backend: string,
  claims: Array<{ key: string; jobId: string }>,
  t: number,
): Promise<Map<string, string>> {
  const holders = new Map<string, string>();
  const sorted = [...claims].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const batch of chunks(sorted, CHUNK)) {
    const insert = `INSERT INTO stint_job_keys (backend, unique_key, job_id, created_at) VALUES ${
      valuesList(4, batch.length)
    }`;
    const params = batch.flatMap((c) => [backend, c.key, c.jobId, t]);
    let rows;
    if (access.dialect === "mysql") {
      await q.run(`${insert} ON DUPLICATE KEY UPDATE job_id = job_id`, params);
      rows = await q.query(
        // A locking read: it sees the latest row (we hold its lock already, so it never waits)
        // where a plain one would read the snapshot of a caller's REPEATABLE READ transaction.
        `SELECT unique_key, job_id FROM stint_job_keys WHERE backend = ? AND unique_key IN (${
          placeholders(batch.length)
        }) FOR UPDATE`,
        [backend, ...batch.map((c) => c.key)],
      );
    } else {
      rows = await q.query(
        `${insert} ON CONFLICT (backend, unique_key) DO UPDATE SET job_id = stint_job_keys.job_id
         RETURNING unique_key, job_id`,
        params,
      );
    }
    for (const r of rows) holders.set(str(r.unique_key), str(r.job_id));
  }
  return holders;
}

/** lockKeys for one key. */
export async function lockKey(
  q: SqlRunner,
  access: SqlAccess,
  backend: string,
  key: string,
  jobId: string,
  t: number,
): Promise<string> {
  return (await lockKeys(q, access, backend, [{ key, jobId }], t)).get(key)!;
}

/** Points the (locked) key at `jobId`, which takes it over from an ended or running job. */
export function takeKey(q: SqlRunner, backend: string, key: string, jobId: string, t: number): Promise<number> {
  return q.run(`UPDATE stint_job_keys SET job_id = ?, created_at = ? WHERE backend = ? AND unique_key = ?`, [
    jobId,
    t,
    backend,
    key,
  ]);
}

/**
 * Gives the waiting job `id` (locked, in `status`) the new job's payload,
 * priority and run time; returns its status after: it moves between scheduled
 * and ready (through the concurrency gate) when the run time says so.
 */
async function replaceWaiting(
  q: SqlRunner,
  access: SqlAccess,
  id: string,
  status: JobStatus,
  job: NewJob,
  t: number,
): Promise<JobStatus> {
  if (status === "waiting") {
    // A parent suspended in ctx.join resumes when its children end: its run time is theirs to decide.
    await q.run(`UPDATE stint_jobs SET payload = ?, priority = ?, updated_at = ? WHERE id = ?`, [
      job.payload,
      job.priority,
      t,
      id,
    ]);
    return status;
  }
  const due = job.scheduledAt.getTime();
  await q.run(`UPDATE stint_jobs SET payload = ?, priority = ?, scheduled_at = ?, updated_at = ? WHERE id = ?`, [
    job.payload,
    job.priority,
    due,
    t,
    id,
  ]);
  const later = due > t;
  if (status === "scheduled" && later) {
    await q.run(`UPDATE stint_scheduled_executions SET priority = ?, scheduled_at = ? WHERE job_id = ?`, [
      job.priority,
      due,
      id,
    ]);
    return status;
  }
  if (status !== "scheduled" && !later) {
    // Ready or blocked, and due: it stays in line, at its new priority.
    await q.run(`UPDATE ${STATE_TABLE[status]} SET priority = ? WHERE job_id = ?`, [job.priority, id]);
    return status;
  }
  await q.run(`DELETE FROM ${STATE_TABLE[status]} WHERE job_id = ?`, [id]);
  if (!later) return (await admitJobs(q, access, [id], t)).admitted.get(id) ?? "ready";
  // Ready (holding a slot when it has a concurrency policy) or blocked, now later.
  if (status === "ready") await releaseSlots(q, access, [id], t);
  const [row] = await q.query(`SELECT backend, queue FROM stint_jobs WHERE id = ?`, [id]);
  await q.run(
    `INSERT INTO stint_scheduled_executions (job_id, backend, queue, priority, scheduled_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
    [id, str(row.backend), str(row.queue), job.priority, due, t],
  );
  await setStatus(q, [id], "scheduled", t, false);
  return "scheduled";
}

/** What an enqueue of keyed jobs comes to, before the fresh ones are written. */
export interface KeyResolution {
  /** The jobs to insert (copies for keyed ones: a later item of the batch may replace their payload). */
  fresh: NewJob[];
  /** Per input job: the job it came to, and its status unless it is a fresh one (known once inserted). */
  answers: Array<{ id: string; duplicate: boolean; status?: JobStatus }>;
}

/**
 * Applies the jobs' keys in order (DESIGN §11), inside the caller's
 * transaction: a later job of the batch meets an earlier one as a duplicate.
 * Every key is locked first (one statement per 500 keys), then every holder
 * that is not new (one more): a batch of fresh keys costs two statements.
 */
export async function resolveKeys(
  q: SqlRunner,
  access: SqlAccess,
  backend: string,
  jobs: NewJob[],
  t: number,
): Promise<KeyResolution> {
  const first = new Map<string, string>();
  for (const j of jobs) if (j.key != null && !first.has(j.key)) first.set(j.key, j.id);
  const holders = await lockKeys(q, access, backend, [...first].map(([key, jobId]) => ({ key, jobId })), t);
  const others = [...new Set([...holders].filter(([key, id]) => id !== first.get(key)).map(([, id]) => id))].sort();
  const statuses = new Map<string, JobStatus>();
  for (const batch of chunks(others, CHUNK)) {
    for (const [id, status] of await lockStatuses(q, access, backend, batch)) statuses.set(id, status);
  }
  // A waiting holder that has already started (a multi-step job between steps, a handler asleep
  // or joining, one with stored steps) counts as running: replacing its payload would not reach
  // the workspace and steps it goes on from.
  const started = new Set<string>();
  const waitingIds = others.filter((id) => KEY_WAITING.has(statuses.get(id)!));
  for (const batch of chunks(waitingIds, CHUNK)) {
    const rows = await q.query(
      `SELECT j.id FROM stint_jobs j WHERE j.id IN (${placeholders(batch.length)})
       AND (j.workspace IS NOT NULL OR j.status = 'waiting' OR EXISTS (SELECT 1 FROM stint_steps s WHERE s.job_id = j.id))`,
      batch,
    );
    for (const r of rows) started.add(str(r.id));
  }
  const fresh: NewJob[] = [];
  const answers: KeyResolution["answers"] = [];
  const mine = new Map<string, NewJob>();
  for (const job of jobs) {
    const key = job.key;
    if (key === undefined || key === null) {
      fresh.push(job);
      answers.push({ id: job.id, duplicate: false });
      continue;
    }
    const replace = job.onDuplicate === "replace";
    const earlier = mine.get(key);
    if (earlier) {
      // Fresh in this batch, so waiting: replaced before it is even written.
      if (replace) {
        Object.assign(earlier, { payload: job.payload, priority: job.priority, scheduledAt: job.scheduledAt });
      }
      answers.push({ id: earlier.id, duplicate: true });
      continue;
    }
    const holder = holders.get(key)!;
    if (holder !== job.id) {
      const status = statuses.get(holder);
      if (status !== undefined && KEY_WAITING.has(status) && !started.has(holder)) {
        // A replace may move it (between scheduled and ready): a later item of the batch meets it where it went.
        if (replace) statuses.set(holder, await replaceWaiting(q, access, holder, status, job, t));
        answers.push({ id: holder, duplicate: true, status: statuses.get(holder) });
        continue;
      }
      if ((status === "running" || started.has(holder)) && !replace) {
        answers.push({ id: holder, duplicate: true, status });
        continue;
      }
      await takeKey(q, backend, key, job.id, t);
    }
    const copy = { ...job };
    mine.set(key, copy);
    fresh.push(copy);
    answers.push({ id: job.id, duplicate: false });
  }
  return { fresh, answers };
}

/** The handles of a batch: fresh jobs' statuses are the insert's. */
export function keyedHandles(resolution: KeyResolution, inserted: InsertedJob[]): InsertedJob[] {
  const statuses = new Map(inserted.map((j) => [j.id, j.status]));
  return resolution.answers.map((a) => ({ id: a.id, status: a.status ?? statuses.get(a.id)!, duplicate: a.duplicate }));
}
