/**
 * A worker's claim loop: claims as many ready jobs as it has free slots.
 *
 *   ┌─▶ free slots? ──no──▶ wait for a job to finish (no polling at capacity)
 *   │        │yes
 *   │   claim up to free ──got all──▶ claim again at once
 *   │        │got fewer
 *   └── wait pollingInterval, or a wake-up (local enqueue, finished job)
 *
 * How much each claim asks for, two claims in flight with `prefetch`, and the
 * back-off from failing claims are claim-limit.ts's. A short answer (from
 * whichever claim is the newest to answer) starts the polling wait. With the
 * worker's `rateLimit`, a claim asks for no more than its start window has
 * places for, and a full window is slept out (start-window.ts).
 */
import type { ResolvedWorker } from "../config.ts";
import type { ClaimedJob } from "../records.ts";
import { claimBackoffMs, claimLimit } from "./claim-limit.ts";
import type { RuntimeContext } from "./context.ts";
import type { Slots } from "./slots.ts";
import { sleep, Waker, yieldToEventLoop } from "./sleep.ts";
import type { StartWindow } from "./start-window.ts";

export interface ClaimPipelineOptions {
  processId: string;
  processName: string;
  worker: ResolvedWorker;
  slots: Slots;
  /** The worker's rate limit (the slots record each start in it), or null. */
  startWindow: StartWindow | null;
  stopSignal: AbortSignal;
  /** Every claim's jobs, as it answers (after they joined the buffer). */
  delivered(jobs: ClaimedJob[]): void;
}

export class ClaimPipeline {
  readonly #ctx: RuntimeContext;
  readonly #options: ClaimPipelineOptions;
  readonly #waker: Waker;
  /** Claims in flight, and the slots they hold for the jobs they may bring. */
  readonly #claims = new Set<Promise<void>>();
  #reserved = 0;
  /**
   * The newest claim answered came back short: no claim before this time unless a wake-up says jobs
   * became claimable (an enqueue, a finished job). Other wake-ups (a claim's answer) only make the loop check it again.
   */
  #idleUntil = 0;
  /** The newest claim answered came back full: a second claim may be pipelined (see #claimLimit). */
  #draining = false;
  /**
   * Counts the signals that jobs became claimable (an enqueue's wake-up, a requeue). A claim that comes back
   * short proves the queue empty only as of its own snapshot: when a signal came while it was in flight, the
   * loop claims again at once instead of waiting a polling interval.
   */
  #work = 0;
  /**
   * Claims started so far, and the newest of them that answered: with two claims pipelined, answers come back
   * from the older one too, and an older answer never overrides what a newer one said about the queue.
   */
  #started = 0;
  #answered = 0;
  /** Claims failed in a row, and when the next may start (backing off a failing database). */
  #failures = 0;
  #retryAt = 0;
  /** An error in handling a claim's answer, for the loop to throw. */
  #crash: unknown = null;

  constructor(ctx: RuntimeContext, options: ClaimPipelineOptions) {
    this.#ctx = ctx;
    this.#options = options;
    this.#waker = new Waker(options.stopSignal);
  }

  /** Jobs became claimable (an enqueue's wake-up, a requeue): claim at once. */
  newWork(): void {
    this.#work++;
    this.#idleUntil = 0;
    this.#waker.wake();
  }

  /** A slot became free: it ends an idle wait, as before the back-off, and the worker claims for it at once. */
  slotFreed(): void {
    this.#idleUntil = 0;
    this.#waker.wake();
  }

  /** The loop; returns at stop, throws a broken claim answer (the runner restarts it). */
  async run(): Promise<void> {
    const { slots, stopSignal } = this.#options;
    this.#crash = null;
    while (!stopSignal.aborted) {
      if (this.#crash !== null) throw this.#crash;
      slots.startBuffered();
      const backoff = this.#retryAt - Date.now();
      if (backoff > 0) {
        await sleep(backoff, stopSignal);
        continue;
      }
      let limit = this.#claimLimit();
      if (limit === 0) {
        // At capacity, or claims in flight: a finished job or a claim's answer wakes the loop.
        await this.#waker.wait(Infinity);
        continue;
      }
      const idle = this.#idleUntil - Date.now();
      if (idle > 0) {
        await this.#waker.wait(idle);
        continue;
      }
      const window = this.#options.startWindow;
      if (window !== null) {
        const now = Date.now();
        // The places the window has now, less the jobs already held to start in them (buffered, or in claims in flight).
        const free = window.free(now) - slots.buffer.length - this.#reserved;
        if (free <= 0) {
          // Full: sleep until its oldest start leaves it. Held jobs free no place: their start or claim wakes the loop.
          const wait = window.waitMs(now);
          await this.#waker.wait(wait > 0 ? wait : Infinity);
          continue;
        }
        limit = Math.min(limit, free);
      }
      this.#startClaim(limit);
      await yieldToEventLoop();
    }
  }

  /** Resolves once every claim in flight now has answered (and its jobs joined the buffer) or failed. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.#claims]);
  }

  /** How many jobs the next claim may ask for now; 0 when it must wait. */
  #claimLimit(): number {
    const { worker: { concurrency, prefetch }, slots } = this.#options;
    return claimLimit({
      concurrency,
      prefetch,
      running: slots.inFlight.size,
      buffered: slots.buffer.length,
      reserved: this.#reserved,
      inFlight: this.#claims.size,
      draining: this.#draining,
      overlapping: this.#ctx.driver.capabilities.overlappingClaims,
    });
  }

  /**
   * Starts a claim of up to `limit` jobs without waiting for it: its jobs join the buffer when it answers.
   * A claim that fails is reported and backed off from; its slots are free again.
   */
  #startClaim(limit: number): void {
    const { slots, stopSignal, worker, processId } = this.#options;
    this.#reserved += limit;
    const work = this.#work;
    const n = ++this.#started;
    const now = new Date();
    const { backend } = this.#ctx.config;
    const claim = this.#ctx.driver.jobClaim({ backend, processId, selectors: worker.selectors, limit, now }).then(
      (claimed) => {
        this.#failures = this.#retryAt = 0;
        try {
          slots.buffer.push(...claimed);
          this.#options.delivered(claimed);
          if (n > this.#answered) {
            this.#answered = n;
            this.#draining = claimed.length === limit;
            // Short proves the queue empty only as of this claim's snapshot: not when a wake-up came meanwhile.
            const empty = !this.#draining && this.#work === work;
            this.#idleUntil = empty ? Date.now() + worker.pollingIntervalMs : 0;
          }
        } catch (error) {
          // Not a failed claim but a broken answer: the loop rethrows it, and the runner restarts it.
          this.#crash ??= error;
        }
      },
      (error) => {
        this.#failures++;
        this.#retryAt = Date.now() + claimBackoffMs(worker.pollingIntervalMs, this.#failures);
        this.#ctx.reportError(error, { operation: "claim", processName: this.#options.processName });
      },
    ).finally(() => {
      this.#reserved -= limit;
      this.#claims.delete(claim);
      // After a stop the buffer is released, not started (see Worker.windDown).
      if (!stopSignal.aborted) slots.startBuffered();
      this.#waker.wake();
    });
    this.#claims.add(claim);
  }
}
