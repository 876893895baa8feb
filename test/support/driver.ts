/**
 * Driving the public Driver directly, for contract tests that need exact control
 * over claims and outcomes (no runtime, no timing).
 */
import type { Stint } from "../../mod.ts";
import type { ClaimedJob } from "../../src/records.ts";
import { parseSelectors } from "../../src/selectors.ts";

/** Registers a process row to claim for (claims reference a process). */
export async function registerProcess(stint: Stint, name = `test-${crypto.randomUUID().slice(0, 8)}`): Promise<string> {
  const id = crypto.randomUUID();
  await stint.driver.processRegister({
    backend: stint.backend,
    id,
    info: { kind: "worker", name, pid: null, hostname: null, metadata: {}, supervisorId: null },
    now: new Date(),
  });
  return id;
}

export function claim(stint: Stint, processId: string, queues: string[], limit: number): Promise<ClaimedJob[]> {
  return stint.driver.jobClaim({
    backend: stint.backend,
    processId,
    selectors: parseSelectors(queues, "queues"),
    limit,
    now: new Date(),
  });
}

/** Claims one job at a time until none is left; returns the queues in claim order. */
export async function claimOneByOne(stint: Stint, processId: string, queues: string[]): Promise<ClaimedJob[]> {
  const out: ClaimedJob[] = [];
  for (;;) {
    const [job] = await claim(stint, processId, queues, 1);
    if (!job) return out;
    out.push(job);
  }
}

/** Claims every ready job of `queue` and fails it; returns the ids failed. */
export async function failQueue(stint: Stint, queue: string, message = "failed on purpose"): Promise<string[]> {
  const processId = await registerProcess(stint);
  const jobs = await claim(stint, processId, [queue], 1000);
  const applied = await stint.driver.jobFinishMany({
    backend: stint.backend,
    processId,
    outcomes: jobs.map((j) => ({
      id: j.id,
      kind: "failed" as const,
      error: { name: "TestFailure", message, stack: `TestFailure: ${message}\n    at test` },
    })),
    preserveFinished: true,
    now: new Date(),
  });
  return applied;
}

/** Claims every ready job of `queue` and marks it succeeded with `returnValue`. */
export async function succeedQueue(stint: Stint, queue: string, returnValue: unknown = null): Promise<string[]> {
  const processId = await registerProcess(stint);
  const jobs = await claim(stint, processId, [queue], 1000);
  return stint.driver.jobFinishMany({
    backend: stint.backend,
    processId,
    outcomes: jobs.map((j) => ({ id: j.id, kind: "succeeded" as const, returnValue: JSON.stringify(returnValue) })),
    preserveFinished: true,
    now: new Date(),
  });
}

/**
 * Counts the calls the runtime makes to one driver operation from now on; each
 * call still goes to the real driver.
 */
export function countCalls(
  stint: Stint,
  name: "jobClaim" | "jobProgress",
): { readonly count: number; reset(): void } {
  const driver = stint.driver as unknown as Record<typeof name, (params: unknown) => Promise<unknown>>;
  const original = driver[name].bind(driver);
  let count = 0;
  driver[name] = (params) => {
    count++;
    return original(params);
  };
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}
