/**
 * Rows as the runtime writes them for multi-step jobs and children (DESIGN
 * §10), written through the driver: for tests of what reads them (stint.jobs,
 * getResult, the dashboard) without running a workflow.
 */
import type { Stint } from "../../mod.ts";
import { newJobId } from "../../src/ids.ts";
import type { NewJob } from "../../src/records.ts";
import { claim, registerProcess } from "./driver.ts";

/** A NewJob, ready now in "default"; `extra` sets a multi-step job's `step` or a child's `parentId`. */
export function row(task: string, payload: unknown, extra: Partial<NewJob> = {}): NewJob {
  return {
    id: newJobId(),
    task,
    queue: "default",
    priority: 0,
    payload: JSON.stringify(payload),
    scheduledAt: new Date(),
    concurrency: null,
    ...extra,
  };
}

/** A multi-step job's position as the step column holds it. */
export const stepText = (index: number, name: string, count: number): string => JSON.stringify({ index, name, count });

export async function insertRows(stint: Stint, jobs: NewJob[]): Promise<string[]> {
  return (await stint.driver.jobInsertMany({ backend: stint.backend, jobs, now: new Date() })).map((j) => j.id);
}

/**
 * A parent in `queue` waiting (ctx.join) for one child scheduled an hour
 * ahead in the same queue; returns [parent, child].
 */
export async function waitingParent(stint: Stint, queue: string, task = "parent"): Promise<[string, string]> {
  const [parent] = await insertRows(stint, [row(task, {}, { queue })]);
  const [child] = await insertRows(stint, [row("child", {}, { queue, parentId: parent, scheduledAt: new Date(Date.now() + 3_600_000) })]);
  const processId = await registerProcess(stint);
  const [claimed] = await claim(stint, processId, [queue], 1);
  if (claimed?.id !== parent) throw new Error(`waitingParent: claimed ${claimed?.id}, not the parent ${parent}`);
  await stint.driver.jobFinishMany({
    backend: stint.backend,
    processId,
    outcomes: [{ id: parent, kind: "wait", children: [child], claim: claimed.claim }],
    preserveFinished: true,
    now: new Date(),
  });
  return [parent, child];
}

/**
 * Claims the job (the only ready one of its queue) and stores `value` as its
 * step `name`, wrapped as ctx.step stores it (src/runtime/durable.ts).
 */
export async function saveStep(stint: Stint, queue: string, name: string, value: unknown): Promise<string> {
  const processId = await registerProcess(stint);
  const [claimed] = await claim(stint, processId, [queue], 1);
  if (!claimed) throw new Error(`saveStep: nothing to claim in ${queue}`);
  const stored = await stint.driver.stepSave({
    backend: stint.backend,
    processId,
    jobId: claimed.id,
    claim: claimed.claim,
    name,
    value: JSON.stringify({ step: value }),
    now: new Date(),
  });
  if (stored === null) throw new Error("saveStep: the claim was not held");
  return claimed.id;
}
