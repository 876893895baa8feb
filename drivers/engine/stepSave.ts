/**
 * A durable step's result (ctx.step, ctx.sleep, ctx.spawn: DESIGN §10), and a
 * spawned child with it, written once per job and name.
 *
 * Only the holder of the claim writes: the claimed row (this process, this
 * attempt and start) is locked first, so a finish or a recovery of the same
 * claim waits for this transaction or makes it write nothing, and two saves of
 * one name by the holder take turns. The step row is written unless the name
 * is there already, in which case its value is returned and the child is not
 * inserted again: a spawn retried after a crash or a lost reply never makes a
 * second child.
 */
import type { ClaimToken, NewJob } from "../../src/records.ts";
import { lockWait, type SqlAccess, type SqlRunner, str } from "./access.ts";
import { jobInsertManyIn } from "./jobInsertMany.ts";

/** What the dialect adds once a child is inserted (PostgreSQL's wake-up), in the same transaction. */
export type ChildInserted = (q: SqlRunner, backend: string, child: NewJob, status: string) => Promise<void>;

export function stepSave(
  access: SqlAccess,
  p: {
    backend: string;
    processId: string;
    jobId: string;
    claim: ClaimToken;
    name: string;
    value: string;
    child?: NewJob;
    now: Date;
  },
  childInserted?: ChildInserted,
): Promise<string | null> {
  return access.transaction(async (q) => {
    const held = await q.query(
      `SELECT job_id FROM stint_claimed_executions
       WHERE job_id = ? AND backend = ? AND process_id = ? AND attempt = ? AND started_at = ? ${lockWait(access)}`,
      [p.jobId, p.backend, p.processId, p.claim.attempt, p.claim.startedAt],
    );
    if (held.length === 0) return null;
    if (p.child) {
      // A parent whose cancellation was asked for spawns nothing more: the cancel lists its
      // children to cancel them once its own write (which this lock waits for) has committed.
      const job = await q.query(`SELECT cancel_requested_at FROM stint_jobs WHERE id = ? ${lockWait(access)}`, [p.jobId]);
      if (job[0]?.cancel_requested_at !== null && job[0]?.cancel_requested_at !== undefined) return null;
    }
    const stored = await q.query(`SELECT value FROM stint_steps WHERE job_id = ? AND name = ?`, [p.jobId, p.name]);
    if (stored.length > 0) return str(stored[0].value);
    await q.run(`INSERT INTO stint_steps (job_id, backend, name, value, created_at) VALUES (?, ?, ?, ?, ?)`, [
      p.jobId,
      p.backend,
      p.name,
      p.value,
      p.now.getTime(),
    ]);
    if (p.child) {
      const [inserted] = await jobInsertManyIn(q, access, { backend: p.backend, jobs: [p.child], now: p.now });
      await childInserted?.(q, p.backend, p.child, inserted.status);
    }
    return p.value;
  });
}
