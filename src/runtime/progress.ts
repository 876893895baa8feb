/**
 * ctx.progress's writes (DESIGN §12): the latest value is stored at most about
 * once a second per job, and the last value is always kept.
 *
 *   progress(v) ──▶ pending = v ──write in flight, or one a second ago?──yes──▶ a trailing write later
 *                                        │no
 *                                        └──▶ write pending now
 *
 * Writes never overlap, so they land in the order given. When the attempt ends,
 * `flush` writes what is still pending before the outcome is handed on (the
 * outcome removes the claim that guards each write): the final value is never
 * lost, nor overwritten by an older one. A job that never calls ctx.progress
 * never makes one of these.
 */

/** The least time between two progress writes of one job. */
export const PROGRESS_INTERVAL_MS = 1000;

export class ProgressWriter {
  readonly #write: (value: string) => Promise<unknown>;
  readonly #now: () => number;
  #pending: string | null = null;
  #lastWrite = -Infinity;
  #writing: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #flushing = false;

  /** `write` stores one value; its failure is its own to report (progress never fails the job). */
  constructor(write: (value: string) => Promise<unknown>, now: () => number = Date.now) {
    this.#write = write;
    this.#now = now;
  }

  /** `json` (JSON text) becomes the value to store. */
  set(json: string): void {
    this.#pending = json;
    this.#schedule();
  }

  /** Stores what is pending now, after the write in flight; resolves once all is written. */
  async flush(): Promise<void> {
    this.#flushing = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    while (this.#writing !== null || this.#pending !== null) {
      if (this.#writing !== null) await this.#writing;
      else this.#start();
    }
  }

  #schedule(): void {
    if (this.#writing !== null || this.#timer !== null) return;
    const wait = this.#lastWrite + PROGRESS_INTERVAL_MS - this.#now();
    if (wait <= 0) this.#start();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#schedule();
      }, wait);
    }
  }

  #start(): void {
    const value = this.#pending;
    if (value === null) return;
    this.#pending = null;
    this.#lastWrite = this.#now();
    this.#writing = this.#write(value).then(() => {}, () => {}).finally(() => {
      this.#writing = null;
      // A value given while this one was written waits for its turn (or for flush, which runs it itself).
      if (this.#pending !== null && !this.#flushing) this.#schedule();
    });
  }
}
