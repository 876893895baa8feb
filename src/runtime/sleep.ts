/** Sleeps that end early when a signal aborts; they resolve, never reject. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A wake-up latch for a loop: `wait(ms)` sleeps until the time passes, `wake()`
 * is called, or the stop signal aborts. A wake() that arrives while the loop is
 * busy is remembered, so the next wait returns at once and no wake-up is lost.
 */
export class Waker {
  #pending = false;
  /** Resolves the current wait; a plain resolver (aborting a controller builds a DOMException per wake). */
  #resolve: (() => void) | null = null;
  readonly #stop: AbortSignal;

  constructor(stop: AbortSignal) {
    this.#stop = stop;
  }

  wake(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    if (resolve) resolve();
    else this.#pending = true;
  }

  async wait(ms: number): Promise<void> {
    if (this.#pending || this.#stop.aborted) {
      this.#pending = false;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onStop = () => {};
    try {
      await new Promise<void>((resolve) => {
        // Whatever ends the wait (a wake, the time, the stop) detaches it at once, so
        // that a wake arriving before this function returns is kept for the next wait.
        const done = () => {
          if (this.#resolve === done) this.#resolve = null;
          resolve();
        };
        this.#resolve = done;
        onStop = done;
        this.#stop.addEventListener("abort", onStop, { once: true });
        if (Number.isFinite(ms)) timer = setTimeout(done, ms);
      });
    } finally {
      clearTimeout(timer);
      this.#stop.removeEventListener("abort", onStop);
      this.#resolve = null;
    }
  }
}

let lastYield = 0;

/**
 * Gives timers and I/O callbacks a turn, at most every `everyMs`. Some clients
 * (the embedded libSQL one) settle their promises without ever returning to
 * the event loop, so a loop that always has work would otherwise starve
 * heartbeats, batched completions and the host application's own requests.
 * A zero-delay timer costs 1–2 ms on Deno and Bun, hence the throttle.
 */
export async function yieldToEventLoop(everyMs = 10): Promise<void> {
  if (Date.now() - lastYield < everyMs) return;
  await new Promise((resolve) => setTimeout(resolve, 0));
  lastYield = Date.now();
}
