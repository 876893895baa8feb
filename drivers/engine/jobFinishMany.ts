/**
 * Applying outcomes to claimed jobs, all in one transaction:
 *
 *   succeeded  → deleted with its errors, or kept as "succeeded" with its return value
 *                (and its final workspace); a child job (parent_id set) is always kept,
 *                for its parent's join to read
 *   failed     → error recorded for the attempt, failed row, status "failed"
 *   cancelled  → error recorded, status "cancelled"
 *   retry      → error recorded, back to ready (due now) or scheduled (later)
 *   released   → back to ready, the attempt not counted
 *   advance    → the next step: workspace and step written, attempts back to 0,
 *                ready at once, keeping its concurrency slot
 *   sleep      → scheduled for `until` (or through the gate now), the attempt not counted
 *   wait       → suspended until its unfinished children end (job-waits.ts), the attempt not counted
 *
 * A child its parent waits for that ends here (succeeded, failed, cancelled)
 * wakes the parent in this transaction (job-waits.ts); retries and releases
 * do not end it.
 *
 * A kept job's row gets the attempt and its start from the claimed row (the
 * claim does not write the job's row; job-rows.ts). drivers/postgres has its
 * own statement for this operation, and hands batches it cannot take here;
 * the contract suite runs on both.
 */
import type { Outcome } from "../../src/records.ts";
import type { ErrorInfo } from "../../src/errors.ts";
import { chunks, lockWait, num, type Param, placeholders, type SqlAccess, type SqlRunner, str, valuesList } from "./access.ts";
import { CHUNK, deleteJobs } from "./job-rows.ts";
import { admitAndWake, type AwaitedChild, type ReadyQueues, suspendForChildren, wakeParents } from "./job-waits.ts";
import { releaseSlots } from "./semaphores.ts";
import { runnerForTx } from "./transactionRun.ts";

/** A claim being finished: the attempt it ran and when that started, and its job's place. */
interface Held {
  attempt: number;
  startedAt: number;
  backend: string;
  queue: string;
  parentId: string | null;
  /** Its parent waits for it (job-waits.ts). */
  awaited: boolean;
  /** stint.cancel() asked for it while it ran. */
  cancelRequested: boolean;
}

const CANCELLED_WHILE_SUSPENDING = {
  name: "JobCancelledError",
  message: "the job was cancelled while it ran; it ended when its attempt did",
  stack: null,
};

type Finish = { backend: string; processId: string | null; outcomes: Outcome[]; preserveFinished: boolean; now: Date };

/** In one transaction of ours, or in `tx` (transactionRun's, or a caller's): then it commits or rolls back with it. */
export async function jobFinishMany(access: SqlAccess, p: Finish & { tx?: unknown }): Promise<string[]> {
  if (p.outcomes.length === 0) return [];
  if (p.tx !== undefined) return (await jobFinishManyIn(runnerForTx(access, p.tx), access, p)).applied;
  return await access.transaction(async (q) => (await jobFinishManyIn(q, access, p)).applied);
}

/**
 * jobFinishMany inside a transaction the caller holds; also tells which queues
 * got ready jobs (released, retried, advanced, woken parents), for wake-ups.
 */
export async function jobFinishManyIn(
  q: SqlRunner,
  access: SqlAccess,
  p: Finish,
): Promise<{ applied: string[]; readyQueues: ReadyQueues }> {
  const t = p.now.getTime();
  const readyQueues: ReadyQueues = [];
  const held = new Map<string, Held>();
  for (const batch of chunks(p.outcomes, CHUNK)) {
    const ids = batch.map((o) => o.id);
    const owner = p.processId === null
      ? `c.backend = ? AND (c.process_id IS NULL OR NOT EXISTS (SELECT 1 FROM stint_processes sp WHERE sp.id = c.process_id))`
      : "c.process_id = ?";
    // A waiting lock: an orphan recovery racing the owner's late finish must apply one outcome, not two.
    // The job's row is locked too, so `awaited` is read as a parent's wait that committed just before left it.
    const rows = await q.query(
      `SELECT c.job_id, c.attempt, c.started_at, j.backend, j.queue, j.parent_id, j.awaited, j.cancel_requested_at
       FROM stint_claimed_executions c JOIN stint_jobs j ON j.id = c.job_id
       WHERE ${owner} AND c.job_id IN (${placeholders(ids.length)}) ${lockWait(access)}`,
      [p.processId ?? p.backend, ...ids],
    );
    for (const r of rows) {
      held.set(str(r.job_id), {
        attempt: num(r.attempt),
        startedAt: num(r.started_at),
        backend: str(r.backend),
        queue: str(r.queue),
        parentId: r.parent_id === null || r.parent_id === undefined ? null : str(r.parent_id),
        awaited: num(r.awaited) === 1,
        cancelRequested: r.cancel_requested_at !== null && r.cancel_requested_at !== undefined,
      });
    }
  }
  // An outcome for another claim of the job (a retried write that had committed) does not apply.
  // A sleep, a wait or a step's advance of a job whose cancellation was asked for while it ran
  // ends it cancelled instead: it would run again and never see the request.
  const mine = p.outcomes.filter((o) => {
    const h = held.get(o.id);
    return h !== undefined && (!o.claim || (o.claim.attempt === h.attempt && o.claim.startedAt === h.startedAt));
  }).map((o): Outcome =>
    (o.kind === "sleep" || o.kind === "wait" || o.kind === "advance") && held.get(o.id)!.cancelRequested
      ? { id: o.id, kind: "cancelled", error: CANCELLED_WHILE_SUSPENDING, claim: o.claim, parentId: o.parentId }
      : o
  );
  if (mine.length === 0) return { applied: [], readyQueues };
  for (const batch of chunks(mine, CHUNK)) {
    const ids = batch.map((o) => o.id);
    await q.run(`DELETE FROM stint_claimed_executions WHERE job_id IN (${placeholders(ids.length)})`, ids);
  }
  // Only the claims removed just above give their slot back (a pruned claim, already
  // failed, is not held any more); a job released at shutdown, or going on to its
  // next step, keeps its slot.
  const keepsSlot = (o: Outcome) => o.kind === "released" || o.kind === "advance";
  readyQueues.push(...await releaseSlots(q, access, mine.filter((o) => !keepsSlot(o)).map((o) => o.id), t));
  const ended = (status: string) => (): [string, Param[]] => [
    `status = '${status}', finished_at = ?, updated_at = ?`,
    [t, t],
  ];
  const byKind = <K extends Outcome["kind"]>(kind: K) =>
    mine.filter((o): o is Extract<Outcome, { kind: K }> => o.kind === kind);

  // A child's result stays for its parent's join (retention removes it later).
  const succeeded = byKind("succeeded");
  const kept = succeeded.filter((o) => p.preserveFinished || held.get(o.id)!.parentId !== null);
  for (const batch of chunks(kept, CHUNK)) {
    const values = new Map(batch.map((o) => [o.id, o.returnValue]));
    const workspaces = new Map(batch.filter((o) => o.workspace !== undefined).map((o) => [o.id, o.workspace!]));
    await updateFinished(q, held, batch.map((o) => o.id), (ids) => {
      const withWorkspace = ids.filter((id) => workspaces.has(id));
      return [
        `status = 'succeeded', finished_at = ?, updated_at = ?, return_value = CASE id ${
          ids.map(() => "WHEN ? THEN ?").join(" ")
        } END${
          withWorkspace.length === 0
            ? ""
            : `, workspace = CASE id ${withWorkspace.map(() => "WHEN ? THEN ?").join(" ")} ELSE workspace END`
        }`,
        [
          t,
          t,
          ...ids.flatMap((id) => [id, values.get(id)!]),
          ...withWorkspace.flatMap((id) => [id, workspaces.get(id)!]),
        ],
      ];
    });
  }
  if (kept.length < succeeded.length) {
    const keptIds = new Set(kept.map((o) => o.id));
    await deleteJobs(q, succeeded.filter((o) => !keptIds.has(o.id)).map((o) => o.id));
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
  for (const o of retries) readyQueues.push(...await reschedule(q, access, o.id, o.retryAt.getTime(), t));

  // A released job goes back as it was: its row never recorded the attempt.
  const released = byKind("released");
  await readyAgain(q, released.map((o) => o.id), t);

  // The attempt counts (so every claim of the job has its own attempt number, and its errors
  // tell the steps apart); the next step's retry budget starts where its position says
  // (src/runtime/body.ts). The job still holds its slot, so no gate.
  const advanced = byKind("advance");
  for (const o of advanced) {
    const h = held.get(o.id)!;
    await q.run(
      `UPDATE stint_jobs SET workspace = ?, step = ?, attempts = ?, started_at = ?, status = 'ready', updated_at = ?
       WHERE id = ?`,
      [o.workspace, o.step, h.attempt, h.startedAt, t, o.id],
    );
  }
  await readyAgain(q, advanced.map((o) => o.id), t);
  for (const o of [...released, ...advanced]) {
    const { backend, queue } = held.get(o.id)!;
    readyQueues.push({ backend, queue });
  }

  // A sleep is not counted: the job's row keeps the attempts from before the claim.
  for (const o of byKind("sleep")) readyQueues.push(...await reschedule(q, access, o.id, o.until.getTime(), t));

  // After the ends above are written, so a child that ended in this batch is not waited for.
  readyQueues.push(...await suspendForChildren(q, access, byKind("wait"), t));
  const endedChildren: AwaitedChild[] = [...succeeded, ...failed, ...cancelled]
    .map((o) => ({ id: o.id, h: held.get(o.id)! }))
    .filter(({ h }) => h.awaited && h.parentId !== null)
    .map(({ id, h }) => ({ id, parentId: h.parentId! }));
  readyQueues.push(...await wakeParents(q, access, endedChildren, t));
  return { applied: mine.map((o) => o.id), readyQueues };
}

/** Jobs back to ready at once, their latency clock starting now, without the gate (they hold their slot). */
async function readyAgain(q: SqlRunner, ids: string[], t: number): Promise<void> {
  for (const batch of chunks(ids, CHUNK)) {
    const inIds = placeholders(batch.length);
    await q.run(
      `INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
       SELECT id, backend, queue, priority, ?, ? FROM stint_jobs WHERE id IN (${inIds})`,
      [t, t, ...batch],
    );
    await q.run(`UPDATE stint_jobs SET status = 'ready', updated_at = ? WHERE id IN (${inIds})`, [t, ...batch]);
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

async function reschedule(q: SqlRunner, access: SqlAccess, id: string, at: number, t: number): Promise<ReadyQueues> {
  if (at <= t) {
    // Ready again at once: through the concurrency gate like any job becoming ready.
    await q.run(`UPDATE stint_jobs SET scheduled_at = ?, updated_at = ? WHERE id = ?`, [t, t, id]);
    return await admitAndWake(q, access, [id], t);
  }
  await q.run(
    `INSERT INTO stint_scheduled_executions (job_id, backend, queue, priority, scheduled_at, created_at)
     SELECT id, backend, queue, priority, ?, ? FROM stint_jobs WHERE id = ?`,
    [at, t, id],
  );
  await q.run(`UPDATE stint_jobs SET status = 'scheduled', scheduled_at = ?, updated_at = ? WHERE id = ?`, [at, t, id]);
  return [];
}
