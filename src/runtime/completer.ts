/**
 * Batches job outcomes into one jobFinishMany call: outcomes that arrive while a
 * write is in flight go together in the next one. A failed write is retried
 * with backoff; outcomes are never dropped while the runner lives (if the
 * process dies, its claims are recovered from the process registry instead).
 *
 * A stop ends it with close(deadline): it keeps writing until the deadline and
 * then gives up for good, logging the ids of the jobs whose outcome it drops.
 * Retrying past the stop kept a process whose database was unreachable alive
 * forever (its backoff timer never ended). A dropped outcome leaves the job's
 * claim in the database; recovery fails or retries it once the process row is
 * gone or pruned, as if the process had died.
 */
import type { Outcome } from "../records.ts";
import type { RuntimeContext } from "./context.ts";
import { sleep } from "./sleep.ts";

export class Completer {
  #pending: Outcome[] = [];
  /** The batch being written right now (spliced out of #pending). */
  #writing: Outcome[] = [];
  #running: Promise<void> | null = null;
  readonly #ctx: RuntimeContext;
  readonly #processId: string;
  readonly #processName: string;
  readonly #onRequeued: () => void;
  #closed = false;
  /** Cuts the backoff between retries short when close() gives up. */
  readonly #closing = new AbortController();

  constructor(ctx: RuntimeContext, processId: string, processName: string, onRequeued: () => void) {
    this.#ctx = ctx;
    this.#processId = processId;
    this.#processName = processName;
    this.#onRequeued = onRequeued;
  }

  /** Jobs whose outcome is not written yet: their claims are still in the database, legitimately. */
  unwrittenIds(): Set<string> {
    return new Set([...this.#pending, ...this.#writing].map((o) => o.id));
  }

  add(outcome: Outcome): void {
    if (outcome.committed) {
      // A transactional task's outcome, committed with the handler's work: only waiters and claims are told.
      void Promise.resolve().then(() => {
        this.#ctx.outcomesWritten?.([outcome.id]);
        this.#onRequeued();
      });
      return;
    }
    if (this.#closed) {
      this.#dropped([outcome.id]);
      return;
    }
    this.#pending.push(outcome);
    if (!this.#running) {
      this.#running = this.#drain().catch((error) =>
        this.#ctx.reportError(error, { operation: "finish", processName: this.#processName })
      );
    }
  }

  /** Resolves when everything added so far is written (or `deadline` passes). */
  async flush(deadline = Infinity): Promise<void> {
    while (this.#running && Date.now() < deadline) {
      // Cleared once the write is done: a pending timer would keep the process alive after a stop.
      const timer = new AbortController();
      await Promise.race([this.#running, sleep(Math.max(0, deadline - Date.now()), timer.signal)]);
      timer.abort();
    }
  }

  /**
   * Writes what it can until `deadline`, then stops retrying: outcomes still
   * unwritten are dropped and logged (a write still in flight may yet land).
   * Outcomes added later are dropped and logged at once.
   */
  async close(deadline: number): Promise<void> {
    await this.flush(deadline);
    this.#closed = true;
    this.#closing.abort();
    const ids = [...this.unwrittenIds()];
    this.#pending = [];
    if (ids.length > 0) this.#dropped(ids);
  }

  #dropped(ids: string[]): void {
    this.#ctx.logger.error(
      `${this.#processName}: stopped with ${ids.length} job outcome(s) not written (the database did not take them ` +
        `before the stop deadline); recovery will fail or retry those jobs`,
      { jobIds: ids },
    );
  }

  async #drain(): Promise<void> {
    try {
      // Let every job settling in this turn of the event loop join the batch.
      await new Promise((r) => setTimeout(r, 0));
      let failures = 0;
      while (this.#pending.length > 0 && !this.#closed) {
        const batch = this.#pending.splice(0);
        this.#writing = batch;
        try {
          await this.#ctx.driver.jobFinishMany({
            backend: this.#ctx.config.backend,
            processId: this.#processId,
            outcomes: batch,
            preserveFinished: this.#ctx.config.preserveFinishedJobs,
            now: new Date(),
          });
          this.#writing = [];
          failures = 0;
          this.#ctx.outcomesWritten?.(batch.map((o) => o.id));
          // Requeued jobs, and waiters a released concurrency slot promoted, are claimable now.
          this.#onRequeued();
        } catch (error) {
          failures++;
          this.#writing = [];
          // Closed meanwhile: close() has logged this batch as dropped.
          if (this.#closed) return;
          this.#pending.unshift(...batch);
          this.#ctx.reportError(error, { operation: "finish", processName: this.#processName });
          await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 7)), this.#closing.signal);
        }
      }
    } finally {
      // Whatever went wrong above, the next add() starts a new drain: no outcome is stranded.
      this.#running = null;
    }
  }
}
