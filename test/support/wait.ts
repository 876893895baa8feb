/** Polling for a condition with a deadline, instead of fixed sleeps. */
import type { JobResult, JobStatus, Stint } from "../../mod.ts";

/**
 * Calls `probe` every `interval` ms until it returns something truthy, and
 * returns that; throws, naming `what` and the last value seen, at the deadline.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  { timeout = 3000, interval = 10 }: { timeout?: number; interval?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${String(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** Waits until the job's status is one of `statuses` and returns its result. */
export async function waitForStatus(
  stint: Stint,
  id: string,
  statuses: JobStatus | JobStatus[],
  timeout = 3000,
): Promise<JobResult> {
  const wanted = Array.isArray(statuses) ? statuses : [statuses];
  let last: JobResult | undefined;
  try {
    return await waitFor(`job ${id} to be ${wanted.join(" or ")}`, async () => {
      last = await stint.getResult(id);
      return wanted.includes(last.status) ? last : null;
    }, { timeout });
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; it is ${last?.status} (attempts ${last?.attempts}, error ${
        JSON.stringify(last?.error)
      })`,
    );
  }
}
