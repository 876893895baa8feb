/**
 * Batches job outcomes into one jobsFinish call: outcomes that arrive while a
 * write is in flight go together in the next one. A failed write is retried
 * with backoff; outcomes are never dropped while the runner lives (if the
 * process dies, its claims are recovered from the process registry instead).
 */
import type { Outcome } from "../driver.ts";
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

  constructor(ctx: RuntimeContext, processId: string, processName: string, onRequeued: () => void) {
    this.#ctx = ctx;
    this.#processId = processId;
    this.#processName = processName;
    this.#onRequeued = onRequeued;
  }

  get pending(): number {
    return this.#pending.length;
  }

  /** Jobs whose outcome is not written yet: their claims are still in the database, legitimately. */
  unwrittenIds(): Set<string> {
    return new Set([...this.#pending, ...this.#writing].map((o) => o.id));
  }

  add(outcome: Outcome): void {
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

  async #drain(): Promise<void> {
    try {
      // Let every job settling in this turn of the event loop join the batch.
      await new Promise((r) => setTimeout(r, 0));
      let failures = 0;
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0);
        this.#writing = batch;
        try {
          await this.#ctx.driver.jobsFinish({
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
          this.#pending.unshift(...batch);
          this.#ctx.reportError(error, { operation: "finish", processName: this.#processName });
          await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 7)));
        }
      }
    } finally {
      // Whatever went wrong above, the next add() starts a new drain: no outcome is stranded.
      this.#running = null;
    }
  }
}
