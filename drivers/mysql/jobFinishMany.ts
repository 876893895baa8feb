/**
 * The engine's jobFinishMany with each error cut to fit max_allowed_packet
 * (limits.ts), in groups that each fit it.
 */
import type { Outcome } from "../../src/records.ts";
import type { SqlAccess } from "../engine/access.ts";
import * as engine from "../engine/jobFinishMany.ts";
import { fitOutcome, groupBySize, outcomeSize } from "./limits.ts";

export async function jobFinishMany(
  access: SqlAccess,
  budget: number,
  p: { backend: string; processId: string | null; outcomes: Outcome[]; preserveFinished: boolean; now: Date; tx?: unknown },
): Promise<string[]> {
  const outcomes = p.outcomes.map((o) => fitOutcome(o, budget));
  const applied: string[] = [];
  // Separate transactions are safe: an outcome already applied is ignored when the batch is retried,
  // even once its job has been claimed again (each outcome names its claim; src/records.ts Outcome).
  // With `tx` (a transactional task's), every group runs in it.
  for (const group of groupBySize(outcomes, outcomeSize, budget)) {
    applied.push(...await engine.jobFinishMany(access, { ...p, outcomes: group }));
  }
  return applied;
}
