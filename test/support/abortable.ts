/**
 * A sleep a job's handler can be stopped in. Fixture task modules import this
 * (and isolates load them by URL), so it imports nothing and has no side effects.
 */

/** Resolves after `ms`, or rejects with the signal's reason when the job is aborted. */
export function sleepHonouring(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
