/** A paused queue is skipped by every claim (jobClaim) until queueResume; pausing twice is pausing once. */
import type { SqlAccess } from "./access.ts";

export async function queuePause(access: SqlAccess, p: { backend: string; queue: string; now: Date }): Promise<void> {
  await access.run(access.insertIgnore("stint_pauses", ["backend", "queue", "created_at"], 1), [
    p.backend,
    p.queue,
    p.now.getTime(),
  ]);
}
