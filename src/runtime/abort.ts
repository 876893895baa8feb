/**
 * The abort side of one running job, on the thread that runs its handler
 * (the worker's in async mode, the isolate's in worker mode).
 */

/**
 * Its AbortSignal is made only when the handler (or the isolate pool) asks
 * for `ctx.signal`: most handlers never read it, and a controller plus a
 * listener per job was a tenth of a no-op drain's CPU time. Aborting still
 * decides the outcome either way.
 */
export class JobAbort {
  #controller: AbortController | null = null;
  #reject: ((reason: unknown) => void) | null = null;
  /** Races beyond the first still pending (a hook's race inside the job's own); null for the usual one. */
  #more: Array<(reason: unknown) => void> | null = null;
  aborted = false;
  reason: unknown = undefined;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#controller?.abort(reason);
    this.#reject?.(reason);
    if (this.#more) for (const reject of this.#more) reject(reason);
  }

  /** `value` settled, or a rejection with the reason as soon as the job is aborted. */
  race<T>(value: PromiseLike<T>): Promise<T> {
    if (this.aborted) return Promise.reject(this.reason);
    return new Promise<T>((resolve, reject) => {
      if (this.#reject === null) this.#reject = reject;
      else (this.#more ??= []).push(reject);
      value.then(resolve, reject);
    });
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}
