/** Queue controls: pause, resume (with the latency shift), clear, and counts. */
import type { SqlAccess } from "./access.ts";

export async function queuePause(access: SqlAccess, p: { backend: string; queue: string; now: Date }): Promise<void> {
  await access.run(access.insertIgnore("stint_pauses", ["backend", "queue", "created_at"], 1), [
    p.backend,
    p.queue,
    p.now.getTime(),
  ]);
}
