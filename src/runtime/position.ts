/**
 * A multi-step job's position, as stored in its `step` column:
 * `{"index":1,"name":"store","count":2,"base":3}`. `base` is how many attempts
 * the job had used when this step began: every attempt counts in the job's
 * `attempts` (each claim has its own number, and the stored errors tell the
 * steps apart), while a step's own attempt — ctx.attempt, the retry budget —
 * starts again at 1.
 */
import type { ClaimedJob } from "../records.ts";
import type { StepPosition } from "../task-context.ts";

export interface StoredPosition extends StepPosition {
  base?: number;
}

export function position(step: string | null | undefined): StoredPosition | null {
  return step ? JSON.parse(step) as StoredPosition : null;
}

/** The attempt of the job's current step (the job's attempt for a single-handler job). */
export function stepAttempt(job: ClaimedJob): number {
  return job.step ? job.attempt - (position(job.step)!.base ?? 0) : job.attempt;
}
