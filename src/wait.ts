/**
 * `stint.waitFor(job, { timeout })`: resolves with the job's result once it has
 * ended — succeeded, failed, discarded or cancelled. A job waiting for a retry
 * (status scheduled after a failed attempt) has not ended: its next attempt may
 * still succeed.
 *
 * A job finished by a runner of this process wakes its waiters at once (the
 * completer reports the ids it wrote); a job finished elsewhere is seen by
 * polling, from 50 ms backing off to 2 s, so a long wait costs one small read
 * every two seconds.
 */
import type { Duration } from "./duration.ts";
import type { JobStatus } from "./records.ts";
import { ConfigError, DriverError, JobNotFoundError, StintClosedError, StintError, WaitTimeoutError } from "./errors.ts";
import { isJobId } from "./ids.ts";
import type { JobHandle, JobResult } from "./result.ts";
import { type LongTimer, longTimeout } from "./timers.ts";
import { configCheck, describe } from "./validate.ts";

export interface WaitOptions {
  /** Give up (WaitTimeoutError) after this long; default: wait until the job ends or the instance closes. */
  timeout?: Duration;
}

export const ENDED_STATUSES: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "discarded", "cancelled"]);

const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 2000;

/** Reads one job's result, or null when there is no such job. */
type ReadJob = (id: string) => Promise<JobResult | null>;

/** The job id in `job` (an id or the handle enqueue returned), checked. */
function jobIdOf(job: unknown): string {
  const id = typeof job === "string" ? job : job !== null && typeof job === "object" ? (job as JobHandle).id : undefined;
  if (id === undefined) {
    throw new ConfigError(`waitFor takes a job id or the handle enqueue returned, got ${describe(job)}`);
  }
  if (!isJobId(id)) throw new JobNotFoundError(String(id));
  return id;
}

function timeoutOf(options: unknown): number | null {
  if (options === undefined) return null;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ConfigError(`waitFor options must be an object like { timeout: "30s" }, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "timeout") throw new ConfigError(`waitFor: unknown option ${JSON.stringify(key)} (known: timeout)`);
  }
  const timeout = (options as WaitOptions).timeout;
  return timeout === undefined ? null : configCheck.duration(timeout, "waitFor timeout");
}

/**
 * The waits pending in one Stint instance: the hook runners call when they
 * have written outcomes, and what close() rejects.
 */
export class JobWaits {
  readonly #byId = new Map<string, Set<() => void>>();
  readonly #pending = new Set<(error: unknown) => void>();
  readonly #firstPollMs: number;

  /** `firstPollMs` is for tests that must tell a wake-up from a poll. */
  constructor(firstPollMs = FIRST_POLL_MS) {
    this.#firstPollMs = firstPollMs;
  }

  /** Outcomes for these jobs were written (or they were cancelled or discarded here): their waiters look again. */
  ended(ids: Iterable<string>): void {
    if (this.#byId.size === 0) return;
    for (const id of ids) for (const wake of this.#byId.get(id) ?? []) wake();
  }

  /** Jobs ended that cannot be named (discardAll): every waiter looks again. */
  endedAny(): void {
    for (const wakes of this.#byId.values()) for (const wake of wakes) wake();
  }

  /** Rejects every pending wait (close()). */
  closeAll(): void {
    for (const reject of [...this.#pending]) reject(null);
  }

  async wait(read: ReadJob, job: unknown, options?: WaitOptions): Promise<JobResult> {
    const id = jobIdOf(job);
    const timeoutMs = timeoutOf(options);
    return await new Promise<JobResult>((resolve, reject) => {
      let last: JobStatus | "unknown" = "unknown";
      let settled = false;
      let lastError: unknown = undefined;
      let checking = false;
      let again = false;
      let delay = this.#firstPollMs;
      const maxDelay = Math.max(MAX_POLL_MS, this.#firstPollMs);
      let poll: ReturnType<typeof setTimeout> | undefined;
      let deadline: LongTimer | undefined;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(poll);
        deadline?.clear();
        this.#pending.delete(onClose);
        const wakes = this.#byId.get(id);
        wakes?.delete(check);
        if (wakes?.size === 0) this.#byId.delete(id);
        fn();
      };
      // Registered before the first read: a close() during it (the client going away under the read) says closed.
      const onClose = () => settle(() => reject(new StintClosedError(`close() was called while waiting for job ${id}`)));
      // One read at a time; a wake-up during a read asks for another one right after it.
      async function check(): Promise<void> {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        clearTimeout(poll);
        try {
          do {
            again = false;
            const result = await read(id);
            if (settled) return;
            if (result === null) return settle(() => reject(new JobNotFoundError(id)));
            last = result.status;
            if (ENDED_STATUSES.has(result.status)) return settle(() => resolve(result));
          } while (again);
        } catch (error) {
          // A database that is restarting or unreachable is a moment in a wait, not its end: keep polling
          // (backing off) until the job ends or the timeout passes. Stint's own verdicts end it.
          if (error instanceof StintError && !(error instanceof DriverError)) return settle(() => reject(error));
          lastError = error;
        } finally {
          checking = false;
        }
        if (settled) return;
        poll = setTimeout(check, delay);
        delay = Math.min(maxDelay, delay * 2);
      }
      this.#pending.add(onClose);
      if (!this.#byId.has(id)) this.#byId.set(id, new Set());
      this.#byId.get(id)!.add(check);
      if (timeoutMs !== null) {
        deadline = longTimeout(() => settle(() => reject(new WaitTimeoutError(id, last, timeoutMs, lastError))), timeoutMs);
      }
      void check();
    });
  }
}
