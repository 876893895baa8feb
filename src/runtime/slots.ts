/**
 * A worker's slots: the jobs it runs (`concurrency` at most) and, with
 * `prefetch`, the claimed jobs waiting for a slot.
 *
 *   claim answer ─▶ buffered ──a slot is free──▶ running ──settled──▶ outcome ─▶ Completer
 *                     │                            │
 *                     ├─ cancel ─▶ cancelled       └─ abort (timeout, cancel, stop, row lost):
 *                     └─ stop, row lost ─▶ released   the reason decides the outcome (execute.ts):
 *                        (never started, even        released at stop, or failed for an at-most-once
 *                         an at-most-once job)        job, which never starts twice
 *
 * A job that settles frees its slot: the next buffered job starts at once,
 * here (the claim loop may be waiting on a claim), and the loop is told.
 */
import type { ClaimedJob } from "../records.ts";
import { JobCancelledError, safeErrorInfo } from "../errors.ts";
import type { Completer } from "./completer.ts";
import type { RuntimeContext } from "./context.ts";
import { failure, JobAbort } from "./execute.ts";
import type { Executor } from "./executor.ts";
import { sleep } from "./sleep.ts";
import type { StartWindow } from "./start-window.ts";

export interface SlotsOptions {
  concurrency: number;
  processName: string;
  executor: Executor;
  completer: Completer;
  stopSignal: AbortSignal;
  /** The worker's rate limit: each start is recorded in it (claims.ts keeps the starts within it). */
  startWindow?: StartWindow | null;
  /** A slot became free (after the next buffered job, if any, took it). */
  freed(): void;
}

export class Slots {
  /** Running jobs, by id. */
  readonly inFlight = new Map<string, { abort: JobAbort; done: Promise<void> }>();
  /**
   * Claimed jobs waiting for a free slot (only with `prefetch`): claiming ahead in
   * bigger batches saves statements per job. They are held (status running) and
   * go back to ready at stop, so a slow worker should keep prefetch at 0.
   */
  readonly buffer: ClaimedJob[] = [];
  readonly #ctx: RuntimeContext;
  readonly #options: SlotsOptions;

  constructor(ctx: RuntimeContext, options: SlotsOptions) {
    this.#ctx = ctx;
    this.#options = options;
  }

  /** Starts buffered jobs while slots are free. */
  startBuffered(): void {
    while (this.buffer.length > 0 && this.inFlight.size < this.#options.concurrency) {
      this.#launch(this.buffer.shift()!);
    }
  }

  #launch(job: ClaimedJob): void {
    const { completer, stopSignal } = this.#options;
    const abort = new JobAbort();
    this.#options.startWindow?.record(Date.now());
    this.#ctx.running.set(job.id, abort);
    const settled = () => {
      this.inFlight.delete(job.id);
      this.#ctx.running.delete(job.id);
      // The next buffered job starts here, not in the loop, which may be waiting on a claim.
      if (!stopSignal.aborted) this.startBuffered();
      this.#options.freed();
    };
    const done = this.#options.executor.run(job, abort).then(
      (outcome) => {
        completer.add({ ...outcome, claim: job.claim });
        settled();
      },
      (error) => {
        // The executor always decides an outcome; should it ever fail to, the job still fails: a job with
        // no outcome stays claimed, is released by reconciliation and runs again with no attempt counted.
        // Not its handler's error but the runtime's: an at-most-once job, maybe started, is not retried.
        const outcome = failure(job, this.#ctx.tasks.get(job.task), error, Date.now, true);
        completer.add({ ...outcome, claim: job.claim });
        settled();
        this.#ctx.reportError(error, { operation: "execute", processName: this.#options.processName, jobId: job.id });
      },
    );
    this.inFlight.set(job.id, { abort, done });
  }

  /** The ids of the jobs running or buffered here. */
  ids(): string[] {
    return [...this.inFlight.keys(), ...this.buffer.map((j) => j.id)];
  }

  /** Cancellation was requested: a running job is aborted, a buffered one never starts. */
  cancel(id: string): void {
    this.inFlight.get(id)?.abort.abort(new JobCancelledError(id));
    const at = this.buffer.findIndex((j) => j.id === id);
    if (at !== -1) {
      const [job] = this.buffer.splice(at, 1);
      const error = safeErrorInfo(new JobCancelledError(id));
      this.#options.completer.add({ id, kind: "cancelled", error, claim: job.claim, parentId: job.parentId ?? null });
    }
  }

  /** Buffered jobs never started: back to ready, at-most-once ones too (DESIGN §11). */
  releaseBuffered(): void {
    for (const job of this.buffer.splice(0)) {
      this.#options.completer.add({ id: job.id, kind: "released", claim: job.claim });
    }
  }

  abortRunning(reason: unknown): void {
    for (const { abort } of this.inFlight.values()) abort.abort(reason);
  }

  /** Resolves once every running job has its outcome, or after `ms`. */
  async drain(ms: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    // The deadline's timer is cleared once the jobs are done: a pending timer would keep the process alive.
    const timer = new AbortController();
    await Promise.race([this.done(), sleep(ms, timer.signal)]);
    timer.abort();
  }

  /** Resolves once every job running now has its outcome. */
  async done(): Promise<void> {
    await Promise.all([...this.inFlight.values()].map((f) => f.done));
  }
}
