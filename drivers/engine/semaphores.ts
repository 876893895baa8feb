/**
 * Concurrency limits (Solid Queue's semaphores), shared by every SQL driver.
 *
 * A semaphore row per key holds `value`, the free slots out of `limit_value`,
 * and a lease `expires_at` that every acquisition extends. A job with a policy
 * that is about to become ready takes a slot, or is blocked (a row in
 * stint_blocked_executions) or discarded. A job that ends (succeeds, fails,
 * retries, is cancelled or discarded while it held a slot) gives its slot back,
 * and the slot goes straight to the next waiter in line, in the same transaction.
 *
 *   becoming ready ──slot free──▶ ready ──claimed──▶ ends ──▶ slot to next waiter
 *        │                                                      (or back to value)
 *        └──no slot──▶ blocked ──(a release, or maintenance)──▶ ready
 *
 * Every change to a key's semaphore and to the line blocked on it happens while
 * the transaction holds that semaphore row's lock, taken by an UPDATE (which
 * locks in every dialect): an enqueue that finds no free slot and a finish that
 * frees one can never miss each other. Keys are locked in sorted order, so two
 * batches never deadlock on them. Semaphores are database-wide: the key alone
 * names them, whatever the backend.
 *
 * The operations that move jobs (jobInsertMany, jobFinishMany, jobPromoteDue,
 * jobRetryMany, ..., and a dialect's own versions of them) call the helpers here
 * inside their own transaction: `acquireSlots` + `insertBlockedRows` (new jobs),
 * `admitJobs` (existing jobs becoming ready), `releaseSlots` (jobs that end).
 * concurrencyMaintain.ts promotes what no release reached.
 */
import type { ConcurrencyPolicy } from "../../src/records.ts";
import { chunks, num, placeholders, type SqlAccess, type SqlRunner, str, valuesList } from "./access.ts";

/**
 * The dialect's insert-if-absent: creating a semaphore may race another
 * transaction doing the same, and the loser must find the row, not abort.
 */
export type InsertIgnore = Pick<SqlAccess, "insertIgnore">;
export type Admission = "ready" | "blocked" | "discarded";

const CHUNK = 500;

interface Semaphore {
  key: string;
  value: number;
  limit: number;
  expiresAt: number;
}

async function createSemaphore(q: SqlRunner, ig: InsertIgnore, key: string, limit: number, t: number) {
  const columns = ["semaphore_key", "value", "limit_value", "expires_at", "created_at", "updated_at"];
  await q.run(ig.insertIgnore("stint_semaphores", columns, 1), [key, limit, limit, t, t, t]);
}

/**
 * Locks the key's semaphore row, creating it with every slot free when it is
 * missing. The lock is the UPDATE's, so the row is read only after an UPDATE
 * changed it: on PostgreSQL a row committed between an UPDATE that found
 * nothing and the next SELECT would be read without a lock. (`updated_at + 1`
 * always changes the row, so MySQL reports it as affected.)
 */
export async function lockSemaphore(
  q: SqlRunner,
  ig: InsertIgnore,
  key: string,
  limit: number,
  t: number,
): Promise<Semaphore> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await q.run(`UPDATE stint_semaphores SET updated_at = updated_at + 1 WHERE semaphore_key = ?`, [key]) > 0) {
      const rows = await q.query(
        `SELECT value, limit_value, expires_at FROM stint_semaphores WHERE semaphore_key = ?`,
        [key],
      );
      const r = rows[0];
      return { key, value: num(r.value), limit: num(r.limit_value), expiresAt: num(r.expires_at) };
    }
    await createSemaphore(q, ig, key, limit, t);
  }
  throw new Error(`semaphore ${JSON.stringify(key)} could not be locked`);
}

export function saveSemaphore(q: SqlRunner, s: Semaphore, t: number): Promise<number> {
  return q.run(
    `UPDATE stint_semaphores SET value = ?, limit_value = ?, expires_at = ?, updated_at = ? WHERE semaphore_key = ?`,
    [s.value, s.limit, s.expiresAt, t, s.key],
  );
}

/** A job's limit wins over the row's: the free slots move by the difference. */
function applyLimit(s: Semaphore, limit: number): void {
  if (limit === s.limit) return;
  s.value += limit - s.limit;
  s.limit = limit;
}

function byKey<T>(items: T[], key: (item: T) => string): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Decides, for jobs about to become ready, which get a slot (in the given order
 * within a key). Touches only semaphores: the caller writes the jobs' rows.
 */
export async function acquireSlots(
  q: SqlRunner,
  ig: InsertIgnore,
  jobs: Array<{ id: string; policy: ConcurrencyPolicy }>,
  t: number,
): Promise<Map<string, Admission>> {
  const out = new Map<string, Admission>();
  for (const [key, group] of byKey(jobs, (j) => j.policy.key)) {
    const sem = await lockSemaphore(q, ig, key, group[0].policy.limit, t);
    for (const { id, policy } of group) {
      applyLimit(sem, policy.limit);
      if (sem.value > 0) {
        sem.value--;
        sem.expiresAt = Math.max(sem.expiresAt, t + policy.durationMs);
        out.set(id, "ready");
      } else {
        out.set(id, policy.onConflict === "discard" ? "discarded" : "blocked");
      }
    }
    await saveSemaphore(q, sem, t);
  }
  return out;
}

export interface BlockedRow {
  id: string;
  backend: string;
  queue: string;
  priority: number;
  policy: ConcurrencyPolicy;
}

/** Blocked jobs wait in line; their own lease lets maintenance promote them if no release comes. */
export async function insertBlockedRows(q: SqlRunner, rows: BlockedRow[], t: number): Promise<void> {
  for (const batch of chunks(rows, CHUNK)) {
    await q.run(
      `INSERT INTO stint_blocked_executions (job_id, backend, queue, priority, concurrency_key, expires_at, created_at)
       VALUES ${valuesList(7, batch.length)}`,
      batch.flatMap((r) => [r.id, r.backend, r.queue, r.priority, r.policy.key, t + r.policy.durationMs, t]),
    );
  }
}

function policyOf(r: Record<string, unknown>): ConcurrencyPolicy | null {
  if (r.concurrency_key === null || r.concurrency_key === undefined) return null;
  return {
    key: str(r.concurrency_key),
    limit: num(r.concurrency_limit),
    durationMs: num(r.concurrency_duration_ms),
    onConflict: str(r.concurrency_on_conflict) === "discard" ? "discard" : "block",
  };
}

async function setStatusFinishedIf(q: SqlRunner, ids: string[], status: string, finished: boolean, t: number) {
  for (const batch of chunks(ids, CHUNK)) {
    await q.run(
      `UPDATE stint_jobs SET status = ?, updated_at = ?${finished ? ", finished_at = ?" : ""} WHERE id IN (${
        placeholders(batch.length)
      })`,
      finished ? [status, t, t, ...batch] : [status, t, ...batch],
    );
  }
}

async function insertReady(q: SqlRunner, rows: Array<[string, string, string, number, number]>, t: number) {
  for (const batch of chunks(rows, CHUNK)) {
    await q.run(
      `INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at) VALUES ${
        valuesList(6, batch.length)
      }`,
      batch.flatMap((r) => [...r, t]),
    );
  }
}

/**
 * Makes existing jobs (rows in stint_jobs, no state row yet) ready, through the
 * concurrency gate for those with a policy: each ends ready, blocked or
 * discarded, with its state row and status written. `latencyFrom` gives a job's
 * latency clock start (default `t`). Returns each id's admission and the
 * (backend, queue) pairs that got ready jobs.
 */
export async function admitJobs(
  q: SqlRunner,
  ig: InsertIgnore,
  ids: string[],
  t: number,
  latencyFrom?: Map<string, number>,
): Promise<{ admitted: Map<string, Admission>; readyQueues: Array<{ backend: string; queue: string }> }> {
  const admitted = new Map<string, Admission>();
  const readyQueues = new Map<string, { backend: string; queue: string }>();
  for (const batch of chunks(ids, CHUNK)) {
    const rows = await q.query(
      `SELECT id, backend, queue, priority, concurrency_key, concurrency_limit, concurrency_duration_ms,
         concurrency_on_conflict FROM stint_jobs WHERE id IN (${placeholders(batch.length)})`,
      batch,
    );
    const jobs = rows.map((r) => ({
      id: str(r.id),
      backend: str(r.backend),
      queue: str(r.queue),
      priority: num(r.priority),
      policy: policyOf(r),
    }));
    const gated = jobs.filter((j) => j.policy !== null) as BlockedRow[];
    const decided = gated.length > 0 ? await acquireSlots(q, ig, gated, t) : new Map<string, Admission>();
    const ready = jobs.filter((j) => (decided.get(j.id) ?? "ready") === "ready");
    await insertReady(q, ready.map((j) => [j.id, j.backend, j.queue, j.priority, latencyFrom?.get(j.id) ?? t]), t);
    await insertBlockedRows(q, gated.filter((j) => decided.get(j.id) === "blocked"), t);
    for (const status of ["ready", "blocked", "discarded"] as const) {
      const ids = jobs.filter((j) => (decided.get(j.id) ?? "ready") === status).map((j) => j.id);
      if (ids.length > 0) await setStatusFinishedIf(q, ids, status, status === "discarded", t);
    }
    for (const j of jobs) admitted.set(j.id, decided.get(j.id) ?? "ready");
    for (const j of ready) readyQueues.set(`${j.backend}\u0000${j.queue}`, { backend: j.backend, queue: j.queue });
  }
  return { admitted, readyQueues: [...readyQueues.values()] };
}

/**
 * Hands free slots of a locked semaphore to the jobs waiting for its key (all
 * backends, or one), highest priority then oldest first. A waiter whose blocked
 * row another transaction removed meanwhile (discarded, cancelled) is skipped.
 */
export async function promoteWaiters(
  q: SqlRunner,
  sem: Semaphore,
  t: number,
  backend: string | null,
): Promise<Array<{ id: string; backend: string; queue: string }>> {
  const promoted: Array<{ id: string; backend: string; queue: string }> = [];
  for (let round = 0; sem.value > 0 && round < 100; round++) {
    const waiters = await q.query(
      `SELECT b.job_id, b.backend, b.queue, b.priority, j.concurrency_duration_ms
       FROM stint_blocked_executions b JOIN stint_jobs j ON j.id = b.job_id
       WHERE b.concurrency_key = ?${backend === null ? "" : " AND b.backend = ?"}
       ORDER BY b.priority DESC, b.job_id LIMIT ?`,
      backend === null ? [sem.key, sem.value] : [sem.key, backend, sem.value],
    );
    if (waiters.length === 0) break;
    let moved = 0;
    for (const w of waiters) {
      const id = str(w.job_id);
      if ((await q.run(`DELETE FROM stint_blocked_executions WHERE job_id = ?`, [id])) === 0) continue;
      await insertReady(q, [[id, str(w.backend), str(w.queue), num(w.priority), t]], t);
      await setStatusFinishedIf(q, [id], "ready", false, t);
      sem.value--;
      sem.expiresAt = Math.max(sem.expiresAt, t + num(w.concurrency_duration_ms));
      promoted.push({ id, backend: str(w.backend), queue: str(w.queue) });
      moved++;
    }
    if (moved === 0 && waiters.length < sem.value) break;
  }
  return promoted;
}

/**
 * Gives back the slots of jobs that end (call it before their rows are
 * deleted, and only for jobs whose claim or ready row this transaction just
 * removed, so a slot is never returned twice). Each key's free slots go to its
 * waiters at once, never above the limit. Returns the jobs made ready.
 */
export async function releaseSlots(
  q: SqlRunner,
  ig: InsertIgnore,
  jobIds: string[],
  t: number,
): Promise<Array<{ id: string; backend: string; queue: string }>> {
  const holders: Array<{ id: string; policy: ConcurrencyPolicy }> = [];
  for (const batch of chunks(jobIds, CHUNK)) {
    const rows = await q.query(
      `SELECT id, concurrency_key, concurrency_limit, concurrency_duration_ms, concurrency_on_conflict
       FROM stint_jobs WHERE id IN (${placeholders(batch.length)}) AND concurrency_key IS NOT NULL`,
      batch,
    );
    for (const r of rows) holders.push({ id: str(r.id), policy: policyOf(r)! });
  }
  const promoted: Array<{ id: string; backend: string; queue: string }> = [];
  for (const [key, group] of byKey(holders, (h) => h.policy.key)) {
    const limit = group[group.length - 1].policy.limit;
    const sem = await lockSemaphore(q, ig, key, limit, t);
    applyLimit(sem, limit);
    sem.value = Math.min(sem.limit, sem.value + group.length);
    promoted.push(...await promoteWaiters(q, sem, t, null));
    await saveSemaphore(q, sem, t);
  }
  return promoted;
}
