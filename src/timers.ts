/**
 * Timers for delays longer than setTimeout can hold. Deno, Bun and browsers
 * store the delay in a signed 32-bit integer: anything above 2^31-1 ms (about
 * 24.8 days) fires after 1 ms instead, so a 30-day task timeout would fail the
 * job at once. `longTimeout` chains shorter timers until the time has passed.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

export function longTimeout(fn: () => void, ms: number): LongTimer {
  const due = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (left: number) => {
    timer = setTimeout(() => {
      const rest = due - Date.now();
      if (rest > 0) arm(rest);
      else fn();
    }, Math.min(MAX_TIMER_MS, Math.max(0, left)));
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
