/**
 * Cancelling a job, shared by Stint and the edge client. A job waiting to run
 * (ready, scheduled, blocked, or a parent waiting for its children) is
 * cancelled at once; a running one is flagged, and its worker aborts it.
 *
 * A cancelled or discarded parent takes its children that have not ended
 * with it, and theirs (DESIGN §10 leaves the choice open): nothing is left to
 * join them, and a child of a gone parent running on would be work nobody reads.
 */
import type { Driver } from "./driver.ts";
import { JobNotFoundError } from "./errors.ts";
import type { JobStatus } from "./records.ts";
import type { JobHandle } from "./result.ts";

const ENDED = new Set<JobStatus>(["succeeded", "failed", "discarded", "cancelled"]);
const WAITING = new Set<JobStatus>(["ready", "scheduled", "blocked", "waiting"]);
const PAGE = 500;

export interface CancelEffects {
  /** A running job was flagged: abort it here if it runs in this process. */
  running?(id: string): void;
  /** Jobs that ended now (waiters in this process look again). */
  ended?(ids: string[]): void;
}

export async function cancelJob(driver: Driver, backend: string, id: string, effects: CancelEffects = {}): Promise<JobHandle> {
  const before = await driver.jobCancel({ backend, id, now: new Date() });
  if (before === null) throw new JobNotFoundError(id);
  if (before === "running") {
    effects.running?.(id);
    await cancelChildren(driver, backend, id, effects);
    return { id, status: "running", duplicate: false };
  }
  if (!WAITING.has(before)) return { id, status: before, duplicate: false };
  effects.ended?.([id]);
  await cancelChildren(driver, backend, id, effects);
  return { id, status: "cancelled", duplicate: false };
}

/** Cancels the children of `id` that have not ended (and, through cancelJob, theirs). */
export async function cancelChildren(driver: Driver, backend: string, id: string, effects: CancelEffects = {}): Promise<void> {
  let before: string | undefined;
  for (;;) {
    const children = await driver.jobList({ backend, parentId: id, limit: PAGE, before });
    for (const child of children) {
      if (ENDED.has(child.status)) continue;
      try {
        await cancelJob(driver, backend, child.id, effects);
      } catch (error) {
        if (!(error instanceof JobNotFoundError)) throw error; // deleted meanwhile
      }
    }
    if (children.length < PAGE) return;
    before = children[children.length - 1].id;
  }
}
