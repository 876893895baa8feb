/**
 * The end of a chaos run: every job from the queue's view (listJobs page by page,
 * getResult for a job no listing shows) set against the ledger of executions.
 *
 *   lost           enqueued (an id came back) but the queue does not know it, or it
 *                  succeeded without any execution that ended well, or it ended
 *                  discarded or cancelled (the suite does neither: Stint dropped it)
 *   stuck          still ready, scheduled, blocked or running after the drain deadline
 *   overlapping    jobs with two executions whose [start, end] intervals overlap; an
 *                  execution with no recorded end ended at its isolate's last
 *                  "alive" stamp (tasks.ts), else at the latest when its process exited
 *   duplicate_runs jobs with more executions than the attempts the queue counted
 */
import { JobNotFoundError, type JobStatus, type Stint } from "../../mod.ts";
import type { JobSummary } from "../../src/records.ts";
import type { LedgerRow } from "./ledger.ts";

const ALL: JobStatus[] = ["scheduled", "ready", "blocked", "running", "succeeded", "failed", "discarded", "cancelled"];
const WAITING = new Set<JobStatus>(["scheduled", "ready", "blocked", "running"]);

export interface Accounting {
  jobs: number;
  succeeded: number;
  failed: number;
  stuck: number;
  lost: number;
  overlapping: number;
  duplicateRuns: number;
  /** Jobs the queue holds that no enqueue call returned (a batch that committed yet reported an error). */
  extras: number;
  executions: number;
  /** Executions with no recorded end (killed with their process, or the end could not be written). */
  unended: number;
  /** Human-readable examples of each problem, for the log. */
  examples: string[];
}

async function listAll(stint: Stint): Promise<Map<string, JobSummary>> {
  const jobs = new Map<string, JobSummary>();
  for (const status of ALL) {
    let before: string | undefined;
    for (;;) {
      const page = await stint.listJobs(status, { limit: 1000, before });
      for (const j of page) jobs.set(j.id, j);
      if (page.length < 1000) break;
      before = page[page.length - 1].id;
    }
  }
  return jobs;
}

export async function account(
  stint: Stint,
  enqueued: Set<string>,
  ledger: LedgerRow[],
  exitOf: (pid: number) => number | null,
  /** The last time the isolate stamped that it was alive (see stampAlive in tasks.ts). */
  aliveOf: (pid: number, isolate: string) => number | null = () => null,
): Promise<Accounting> {
  const jobs = await listAll(stint);
  const examples: string[] = [];
  const note = (line: string) => {
    if (examples.length < 12) examples.push(line);
  };
  const byJob = new Map<string, LedgerRow[]>();
  for (const row of ledger) {
    const list = byJob.get(row.jobId) ?? [];
    list.push(row);
    byJob.set(row.jobId, list);
  }
  let lost = 0;
  for (const id of enqueued) {
    if (jobs.has(id)) continue;
    // Not in any listing: ask for the job itself before calling it lost.
    try {
      const r = await stint.getResult(id);
      jobs.set(id, { ...r, lastError: null } as unknown as JobSummary);
    } catch (error) {
      if (!(error instanceof JobNotFoundError)) throw error;
      lost++;
      note(`lost: ${id} is unknown to the queue (executions: ${byJob.get(id)?.length ?? 0})`);
    }
  }
  let succeeded = 0, failed = 0, stuck = 0, overlapping = 0, duplicateRuns = 0, extras = 0, unended = 0;
  for (const [id, job] of jobs) {
    if (!enqueued.has(id)) extras++;
    const runs = byJob.get(id) ?? [];
    if (job.status === "succeeded") {
      succeeded++;
      if (!runs.some((r) => r.outcome === "ok")) {
        lost++;
        note(`lost: ${id} (${job.task}) succeeded with no execution that ended well (${runs.length} in the ledger)`);
      }
    } else if (job.status === "failed") failed++;
    else if (job.status === "discarded" || job.status === "cancelled") {
      // Counted nowhere else, these would leave succeeded + failed short of jobs with a clean line.
      lost++;
      note(`lost: ${id} (${job.task}) ended ${job.status}, which the suite never asks for`);
    } else if (WAITING.has(job.status)) {
      stuck++;
      note(`stuck: ${id} (${job.task}) is ${job.status} after ${job.attempts} attempts`);
    }
    if (runs.length > job.attempts) duplicateRuns++;
    const spans = runs.map((r) => {
      if (r.endedAt === null) unended++;
      return { r, end: r.endedAt ?? aliveOf(r.pid, r.isolate) ?? exitOf(r.pid) ?? Infinity };
    }).sort((a, b) => a.r.startedAt - b.r.startedAt);
    for (let i = 1; i < spans.length; i++) {
      const earlier = spans.slice(0, i).find((s) => s.end > spans[i].r.startedAt);
      if (earlier) {
        overlapping++;
        const later = spans[i].r;
        const how = earlier.r.endedAt === null
          ? `no recorded end, its isolate ${earlier.r.isolate} last alive or its process exited then`
          : "recorded end";
        note(
          `overlap: ${id} (${job.task}) attempt ${earlier.r.attempt} pid ${earlier.r.pid} ran ` +
            `${earlier.r.startedAt}..${Number.isFinite(earlier.end) ? earlier.end : "?"} (${how}, ${earlier.r.outcome ?? "no outcome"}); ` +
            `attempt ${later.attempt} pid ${later.pid} started at ${later.startedAt} ` +
            `(${Number.isFinite(earlier.end) ? earlier.end - later.startedAt : "?"} ms before it ended)`,
        );
        break;
      }
    }
  }
  const executions = ledger.length;
  return { jobs: jobs.size, succeeded, failed, stuck, lost, overlapping, duplicateRuns, extras, executions, unended, examples };
}
