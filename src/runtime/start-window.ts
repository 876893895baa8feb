/**
 * A worker's own rate limit (`workers[].rateLimit`, django-db-queue's
 * --rate_limit; DESIGN §12): at most `limit` jobs start in any window of
 * `perMs`. A sliding window over the last `limit` start times: a start at `t`
 * holds one place through `t + perMs` (a closed window: the clock counts
 * whole milliseconds, and a handler sees its start a little after it is
 * recorded, so the place is held one millisecond past the window).
 *
 * The claim loop asks for no more jobs than the window has places for, less
 * the jobs it already holds (buffered, or in claims in flight), so that
 *
 *   starts in [now − per, now] + buffered + reserved ≤ limit
 *
 * holds at every moment: a claimed job can start as soon as it has a slot,
 * and no window of `per` ever sees more than `limit` starts. When the window
 * is full the loop sleeps until its oldest start leaves it (no polling).
 */
export class StartWindow {
  readonly limit: number;
  readonly perMs: number;
  /**
   * Start times still in the window, oldest first, from `#head` on: a queue
   * with a moving head (Array.shift copies the array; a limit may be 1,000,000).
   */
  #starts: number[] = [];
  #head = 0;

  constructor(limit: number, perMs: number) {
    this.limit = limit;
    this.perMs = perMs;
  }

  get #size(): number {
    return this.#starts.length - this.#head;
  }

  #dropOldest(): void {
    this.#head++;
    // Compact once the dead prefix is as long as the live part: amortized O(1) per start.
    if (this.#head >= 1024 && this.#head * 2 >= this.#starts.length) {
      this.#starts = this.#starts.slice(this.#head);
      this.#head = 0;
    }
  }

  /** A job starts now. */
  record(now: number): void {
    this.#starts.push(now);
    if (this.#size > this.limit) this.#dropOldest();
  }

  /** Places free at `now`: starts that may happen now. */
  free(now: number): number {
    // Starts that left the window never count again (the clock only moves on).
    while (this.#size > 0 && this.#starts[this.#head] < now - this.perMs) this.#dropOldest();
    return this.limit - this.#size;
  }

  /** Milliseconds from `now` until a place frees (0: one is free). */
  waitMs(now: number): number {
    if (this.free(now) > 0) return 0;
    return this.#starts[this.#head] + this.perMs + 1 - now;
  }
}
