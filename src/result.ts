import type { InsertedJob, JobRecord, JobStatus } from "./records.ts";
import type { ErrorInfo } from "./errors.ts";

export interface JobHandle {
  id: string;
  status: JobStatus;
  /**
   * True when an enqueue with a `key` met a job holding it (DESIGN §11): the
   * handle is that job's (skipped, or replaced). False on every other handle.
   */
  duplicate: boolean;
}

/** The API's handles: `duplicate` is always there (a driver may leave it out for a fresh job). */
export function handles(inserted: InsertedJob[]): JobHandle[] {
  return inserted.map((j) => ({ id: j.id, status: j.status, duplicate: j.duplicate === true }));
}

/** Where a multi-step job is: the step that runs next (or ran last, once the job has ended) of `count`. */
export interface JobStep {
  index: number;
  name: string;
  count: number;
}

export interface JobResult<R = unknown, P = unknown> {
  id: string;
  task: string;
  queue: string;
  priority: number;
  status: JobStatus;
  payload: P;
  returnValue: R | null;
  /** The latest attempt's error while the job is failed, retrying, or cancelled; null otherwise. */
  error: ErrorInfo | null;
  /** Every failed attempt's error, oldest first. */
  errors: Array<ErrorInfo & { attempt: number; at: Date }>;
  attempts: number;
  enqueuedAt: Date;
  scheduledAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /**
   * A multi-step job's current workspace: the payload until its first step
   * has completed, then what the last completed step left. Null for a
   * single-handler job.
   */
  workspace: Record<string, unknown> | null;
  /** A multi-step job's position, else null. */
  step: JobStep | null;
  /** The job that spawned this one with ctx.spawn, else null. */
  parentId: string | null;
  /** The unique key it was enqueued with (DESIGN §11), else null. */
  key: string | null;
  /** The latest value the handler gave ctx.progress (DESIGN §12), kept after the job ends; else null. */
  progress: unknown;
  /** When that progress was stored, else null. */
  progressAt: Date | null;
}

export function toResult<R, P>(record: JobRecord): JobResult<R, P> {
  const last = record.errors.at(-1);
  const showsError = record.status !== "succeeded" && last !== undefined;
  return {
    id: record.id,
    task: record.task,
    queue: record.queue,
    priority: record.priority,
    status: record.status,
    payload: JSON.parse(record.payload) as P,
    returnValue: record.returnValue === null ? null : JSON.parse(record.returnValue) as R,
    error: showsError ? { name: last.name, message: last.message, stack: last.stack } : null,
    errors: record.errors,
    attempts: record.attempts,
    enqueuedAt: record.enqueuedAt,
    scheduledAt: record.scheduledAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    // A multi-step job is one with a step; its workspace column stays null until a step completes.
    workspace: record.step == null ? null : JSON.parse(record.workspace ?? record.payload),
    step: record.step == null ? null : stepOf(record.step),
    parentId: record.parentId ?? null,
    key: record.key ?? null,
    progress: record.progress == null ? null : JSON.parse(record.progress),
    progressAt: record.progressAt ?? null,
  };
}

/** The position shown: the stored one has the attempt base too (src/runtime/position.ts). */
function stepOf(text: string): JobStep {
  const { index, name, count } = JSON.parse(text) as JobStep;
  return { index, name, count };
}
