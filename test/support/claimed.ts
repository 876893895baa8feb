/** A claimed job built by hand, for unit tests that run one attempt with no queue behind it. */
import type { ClaimedJob } from "../../src/records.ts";

/** A first claim of task "t" on queue "default" with `payload` as its JSON; `extra` overrides any field. */
export function claimed(payload: unknown, extra: Partial<ClaimedJob> = {}): ClaimedJob {
  const attempt = extra.attempt ?? 1;
  return {
    id: "0190a000-0000-7000-8000-000000000001",
    task: "t",
    queue: "default",
    priority: 0,
    payload: JSON.stringify(payload),
    attempt,
    enqueuedAt: new Date(0),
    claim: { attempt, startedAt: 0 },
    workspace: null,
    step: null,
    parentId: null,
    ...extra,
  };
}
