/**
 * Applying outcomes to claimed jobs, all in one transaction:
 *
 *   succeeded  → deleted with its errors, or kept as "succeeded" with its return value
 *   failed     → error recorded for the attempt, failed row, status "failed"
 *   cancelled  → error recorded, status "cancelled"
 *   retry      → error recorded, back to ready (due now) or scheduled (later)
 *   released   → back to ready, the attempt not counted
 *
 * A kept job's row gets the attempt and its start from the claimed row (the
 * claim does not write the job's row; job-rows.ts). drivers/postgres has its
 * own statement for this operation; the contract suite runs on both.
 */
import type { Outcome } from "../../src/records.ts";
import type { ErrorInfo } from "../../src/errors.ts";
import { chunks, lockWait, num, type Param, placeholders, type SqlAccess, type SqlRunner, str, valuesList } from "./access.ts";
import { CHUNK, deleteJobs } from "./job-rows.ts";
import { admitJobs, type InsertIgnore, releaseSlots } from "./semaphores.ts";

/** A claim being finished: the attempt it ran and when that started. */
interface Held {
  attempt: number;
  startedAt: number;
}

export function jobFinishMany(
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
