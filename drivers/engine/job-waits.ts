/**
 * Parents waiting for their children (ctx.join; DESIGN §10), inside the
 * transaction of the operation that moves the jobs.
 *
 * A parent's `wait` outcome marks `awaited = 1` on those of the named children
 * that have not ended, counts them, and suspends the parent (status
 * "waiting", no state row, `wait_count` = that count), or makes it ready at
 * once when none is left. A child that ends while awaited (succeeded, failed,
 * cancelled, discarded) clears its mark and takes one off its parent's count
 * in the same transaction; the one that takes it to 0 makes the parent ready
 * through the concurrency gate: no polling, and exactly once, since both the
 * mark and the count are only changed under the rows' locks.
 *
 * Lock order, so a wait and its children's ends never deadlock: a wait locks
 * the children's rows before its count, a child's end reads its mark with a
 * locking read (waiting for a wait that marked it to commit), and a child only
 * goes on to lock its parent when the mark it read is committed, which means
 * no wait of that parent is in flight. Parents are locked in id order.
 */
import { chunks, lockWait, num, placeholders, type SqlAccess, type SqlRunner, str } from "./access.ts";
import { CHUNK } from "./job-rows.ts";
import { admitJobs } from "./semaphores.ts";

/** The statuses of a job that has ended (a running child's own row still says "ready"). */
export const ENDED = "('succeeded', 'failed', 'discarded', 'cancelled')";

/** A child that has just ended while its parent waited for it. */
export interface AwaitedChild {
  id: string;
  parentId: string;
}

/** Jobs made ready, by (backend, queue): a dialect with wake-ups sends them. */
export type ReadyQueues = Array<{ backend: string; queue: string }>;

/**
 * Suspends each parent until the named children that have not ended have
 * ended, or makes it ready now when none is left. The parents' claims are
 * gone and their slots given back already; their rows keep the attempts from
 * before the claim (a wait is not counted).
 */
export async function suspendForChildren(
  q: SqlRunner,
  access: SqlAccess,
  waits: Array<{ id: string; children: string[] }>,
  t: number,
): Promise<ReadyQueues> {
  const now: string[] = [];
  const sorted = [...waits].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const w of sorted) {
    let count = 0;
    for (const batch of chunks([...new Set(w.children)].sort(), CHUNK)) {
      const inIds = placeholders(batch.length);
      await q.run(
        `UPDATE stint_jobs SET awaited = 1 WHERE parent_id = ? AND id IN (${inIds}) AND status NOT IN ${ENDED}`,
        [w.id, ...batch],
      );
      // Counted after the marks, with a locking read: a child whose end committed meanwhile is not counted.
      const rows = await q.query(
        `SELECT id FROM stint_jobs WHERE parent_id = ? AND id IN (${inIds}) AND awaited = 1 AND status NOT IN ${ENDED}
         ${lockWait(access)}`,
        [w.id, ...batch],
      );
      count += rows.length;
    }
    if (count > 0) {
      await q.run(`UPDATE stint_jobs SET status = 'waiting', wait_count = ?, updated_at = ? WHERE id = ?`, [
        count,
        t,
        w.id,
      ]);
    } else {
      now.push(w.id);
    }
  }
  return now.length > 0 ? await admitAndWake(q, access, now, t) : [];
}

/**
 * Children among `ids` that their parents wait for (`awaited = 1`), for an
 * operation that has locked those rows already and is about to end them.
 */
export async function awaitedAmong(q: SqlRunner, access: SqlAccess, ids: string[]): Promise<AwaitedChild[]> {
  const out: AwaitedChild[] = [];
  for (const batch of chunks(ids, CHUNK)) {
    const rows = await q.query(
      `SELECT id, parent_id FROM stint_jobs WHERE id IN (${placeholders(batch.length)}) AND awaited = 1
         AND parent_id IS NOT NULL ${lockWait(access)}`,
      batch,
    );
    for (const r of rows) out.push({ id: str(r.id), parentId: str(r.parent_id) });
  }
  return out;
}

/**
 * Children that have just ended (their rows already say so): each clears its
 * mark and takes one off its parent's count, when the parent still waits; a
 * parent whose count reaches 0 becomes ready through the concurrency gate,
 * its latency clock starting now. A parent that is not waiting (cancelled,
 * discarded) is left alone.
 */
export async function wakeParents(
  q: SqlRunner,
  access: SqlAccess,
  ended: AwaitedChild[],
  t: number,
): Promise<ReadyQueues> {
  if (ended.length === 0) return [];
  for (const batch of chunks(ended.map((c) => c.id), CHUNK)) {
    await q.run(`UPDATE stint_jobs SET awaited = 0 WHERE id IN (${placeholders(batch.length)})`, batch);
  }
  const ends = new Map<string, number>();
  for (const c of ended) ends.set(c.parentId, (ends.get(c.parentId) ?? 0) + 1);
  const parents = [...ends.keys()].sort();
  const woken: string[] = [];
  const lower = new Map<number, string[]>();
  for (const batch of chunks(parents, CHUNK)) {
    // Locked in id order (the sort is below the lock), so two finishes meeting on parents never deadlock.
    const rows = await q.query(
      `SELECT id, wait_count FROM stint_jobs WHERE id IN (${placeholders(batch.length)}) AND status = 'waiting'
       ORDER BY id ${lockWait(access)}`,
      batch,
    );
    for (const r of rows) {
      const id = str(r.id);
      const n = ends.get(id)!;
      if (num(r.wait_count) <= n) woken.push(id);
      else lower.set(n, [...(lower.get(n) ?? []), id]);
    }
  }
  for (const [n, ids] of lower) {
    for (const batch of chunks(ids, CHUNK)) {
      await q.run(
        `UPDATE stint_jobs SET wait_count = wait_count - ?, updated_at = ? WHERE id IN (${placeholders(batch.length)})`,
        [n, t, ...batch],
      );
    }
  }
  if (woken.length === 0) return [];
  for (const batch of chunks(woken, CHUNK)) {
    await q.run(`UPDATE stint_jobs SET wait_count = 0 WHERE id IN (${placeholders(batch.length)})`, batch);
  }
  return await admitAndWake(q, access, woken, t);
}

/**
 * admitJobs, and then the end of any job the gate discarded (onConflict
 * "discard") that a parent waited for: a discarded child has ended too.
 */
export async function admitAndWake(
  q: SqlRunner,
  access: SqlAccess,
  ids: string[],
  t: number,
  latencyFrom?: Map<string, number>,
): Promise<ReadyQueues> {
  const { admitted, readyQueues } = await admitJobs(q, access, ids, t, latencyFrom);
  const discarded = ids.filter((id) => admitted.get(id) === "discarded");
  if (discarded.length === 0) return readyQueues;
  const more = await wakeParents(q, access, await awaitedAmong(q, access, discarded), t);
  return [...readyQueues, ...more];
}
