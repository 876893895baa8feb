/**
 * A worker's two periodic checks against the database, beside its claim loop:
 *
 *   every second      the ids running or buffered ──jobCancelRequested──▶ running: aborted (JobCancelledError)
 *   (cancel check)                                                      buffered: cancelled, never started
 *
 *   every heartbeat   known ids ──claimListHeld──▶ wait for the claims in flight ──▶ known ids again
 *   (reconciliation)  held and in none of them (nor delivered meanwhile) ──▶ released
 *
 * Cancellation requested by another process is noticed here (cancel() in this
 * process aborts the job directly). Reconciliation finds claims this worker
 * holds in the database but does not know about — a claim that committed while
 * its answer was lost to a dropped connection — and puts them back to ready.
 */
import type { ClaimedJob } from "../records.ts";
import type { Completer } from "./completer.ts";
import type { RuntimeContext } from "./context.ts";
import type { Slots } from "./slots.ts";

const CANCEL_CHECK_MS = 1000;

export interface WatchersOptions {
  processId: string;
  processName: string;
  slots: Slots;
  completer: Completer;
  stopSignal: AbortSignal;
  /** Resolves once every claim in flight has answered or failed. */
  claimsSettled(): Promise<unknown>;
}

export class Watchers {
  readonly #ctx: RuntimeContext;
  readonly #options: WatchersOptions;
  /** While a reconciliation runs: the ids every claim answer delivered meanwhile. */
  #delivered: Set<string> | null = null;

  constructor(ctx: RuntimeContext, options: WatchersOptions) {
    this.#ctx = ctx;
    this.#options = options;
  }

  /** Starts both checks; returns what stops them. */
  start(): () => void {
    const cancelCheck = setInterval(() => this.#checkCancels(), CANCEL_CHECK_MS);
    const reconcile = setInterval(() => this.#reconcile(), this.#ctx.config.processHeartbeatIntervalMs);
    return () => {
      clearInterval(cancelCheck);
      clearInterval(reconcile);
    };
  }

  /** A claim answered with these jobs (already in the buffer). */
  delivered(jobs: ClaimedJob[]): void {
    if (this.#delivered) for (const job of jobs) this.#delivered.add(job.id);
  }

  async #checkCancels(): Promise<void> {
    const { slots, processName } = this.#options;
    if (slots.inFlight.size === 0 && slots.buffer.length === 0) return;
    try {
      const ids = await this.#ctx.driver.jobCancelRequested({ backend: this.#ctx.config.backend, ids: slots.ids() });
      for (const id of ids) slots.cancel(id);
    } catch (error) {
      this.#ctx.reportError(error, { operation: "cancel check", processName });
    }
  }

  /**
   * Claims may be in flight meanwhile (a busy worker nearly always has one):
   * every claim that started before the check's answer arrived is waited for,
   * and the jobs it brought count as known, so only rows no answer delivered
   * are released.
   */
  async #reconcile(): Promise<void> {
    const { processId, processName, stopSignal, completer } = this.#options;
    if (this.#delivered !== null || stopSignal.aborted) return;
    const delivered = new Set<string>();
    this.#delivered = delivered;
    try {
      const knownBefore = this.#knownIds();
      const held = await this.#ctx.driver.claimListHeld({ backend: this.#ctx.config.backend, processId });
      // A claim that started before this answer may have committed rows it shows.
      await this.#options.claimsSettled();
      if (stopSignal.aborted) return;
      const knownAfter = this.#knownIds();
      const lost = held.filter(({ id }) => !knownBefore.has(id) && !delivered.has(id) && !knownAfter.has(id));
      if (lost.length === 0) return;
      this.#ctx.logger.warn(`${processName}: releasing ${lost.length} claim(s) it did not know it held`, {
        lost: lost.map((c) => c.id),
      });
      for (const { id, attempt, startedAt } of lost) {
        completer.add({ id, kind: "released", claim: { attempt, startedAt } });
      }
    } catch (error) {
      this.#ctx.reportError(error, { operation: "reconcile claims", processName });
    } finally {
      this.#delivered = null;
    }
  }

  /** Jobs this worker knows it holds: running, buffered, or with an outcome not yet written. */
  #knownIds(): Set<string> {
    const known = this.#options.completer.unwrittenIds();
    for (const id of this.#options.slots.ids()) known.add(id);
    return known;
  }
}
