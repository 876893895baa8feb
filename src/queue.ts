/** `stint.queue(name)`: a handle on one queue of one backend. */
import type { Driver } from "./driver.ts";

export interface QueueHandle {
  readonly name: string;
  /** Ready jobs waiting in the queue. */
  size(): Promise<number>;
  /** Seconds the oldest ready job has waited (paused time excluded after a resume); 0 when none. */
  latency(): Promise<number>;
  isPaused(): Promise<boolean>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Removes the queue's ready jobs; returns how many. */
  clear(): Promise<number>;
}

/** `open(method)` throws once the instance is closed, so a handle kept past close() says so too. */
export function queueHandle(driver: Driver, backend: string, name: string, open: (method: string) => void = () => {}): QueueHandle {
  const checked = <T>(method: string, fn: () => Promise<T>) => async (): Promise<T> => {
    open(`queue(${JSON.stringify(name)}).${method}`);
    return await fn();
  };
  const info = async () => (await driver.queueList({ backend, queue: name }))[0];
  return {
    name,
    size: checked("size", async () => (await info()).ready),
    latency: checked("latency", async () => {
      const oldest = (await info()).oldestReadyAt;
      return oldest === null ? 0 : Math.max(0, (Date.now() - oldest.getTime()) / 1000);
    }),
    isPaused: checked("isPaused", () => driver.queueIsPaused({ backend, queue: name })),
    pause: checked("pause", () => driver.queuePause({ backend, queue: name, now: new Date() })),
    resume: checked("resume", () => driver.queueResume({ backend, queue: name, now: new Date() })),
    clear: checked("clear", () => driver.queueClear({ backend, queue: name, now: new Date() })),
  };
}
