/**
 * The durable calls' side on the main thread (durable.ts JobServices): the
 * driver's steps, a child's enqueue, the children's results. Async mode calls
 * it directly; in worker mode the isolate pool answers an isolate's requests
 * with it, so an isolate never opens a connection of its own.
 */
import { buildJob } from "../enqueue.ts";
import { EnqueueError, JobCancelledError, StepError } from "../errors.ts";
import type { ClaimedJob } from "../records.ts";
import { toResult } from "../result.ts";
import type { SpawnOptions } from "../task-context.ts";
import type { RuntimeContext } from "./context.ts";
import type { JobServices } from "./durable.ts";

const SPAWN_OPTION_KEYS = new Set(["queue", "priority", "runAt", "delay"]);

export function driverServices(ctx: RuntimeContext, processId: string): JobServices {
  // Read at each call, not here: a worker is made before anything runs.
  const backend = () => ctx.config.backend;
  const save = async (job: ClaimedJob, name: string, value: string, child?: ReturnType<typeof buildJob>) => {
    const saved = await ctx.driver.stepSave({
      backend: backend(),
      processId,
      jobId: job.id,
      claim: job.claim,
      name,
      value,
      child,
      now: new Date(),
    });
    if (saved === null) {
      // Refused: the claim is gone, or (a spawn) the job's cancellation was asked for, which ends it cancelled.
      const requested = await ctx.driver.jobCancelRequested({ backend: backend(), ids: [job.id] });
      if (requested.length > 0) throw new JobCancelledError(job.id);
      throw new StepError(`job ${job.id} is no longer held by this worker: ${JSON.stringify(name)} was not stored`);
    }
    return saved;
  };
  return {
    stepList: (job) => ctx.driver.stepList({ backend: backend(), jobId: job.id }),
    stepSave: (job, name, value) => save(job, name, value),
    async spawn(job, name, task, payload, options: SpawnOptions | undefined) {
      const where = `spawn ${JSON.stringify(name)}: `;
      if (options !== undefined && (options === null || typeof options !== "object")) {
        throw new EnqueueError(`${where}options must be an object`);
      }
      for (const key of Object.keys(options ?? {})) {
        if (!SPAWN_OPTION_KEYS.has(key)) {
          throw new EnqueueError(`${where}unknown option ${JSON.stringify(key)} (known: ${[...SPAWN_OPTION_KEYS].join(", ")})`);
        }
      }
      const now = Date.now();
      const child = buildJob(task, payload, options, ctx.tasks, now, where, ctx.config.defaultConcurrencyDurationMs);
      child.parentId = job.id;
      // The handle's status as enqueue would report it, before the concurrency gate (a blocked child reads "ready").
      const status = child.scheduledAt.getTime() > now ? "scheduled" : "ready";
      const value = JSON.stringify({ spawn: { id: child.id, status } });
      const saved = await save(job, name, value, child);
      if (saved === value) {
        if (status === "ready") ctx.wakeups.notify([child.queue]);
        const onEnqueue = ctx.tasks.get(task)?.hooks?.onEnqueue;
        if (onEnqueue) {
          await onEnqueue({ id: child.id, task, queue: child.queue, status, payload: JSON.parse(child.payload), tx: undefined });
        }
      }
      return saved;
    },
    async progress(job, value) {
      try {
        return await ctx.driver.jobProgress({ backend: backend(), processId, jobId: job.id, claim: job.claim, value, now: new Date() });
      } catch (error) {
        // Progress is best effort: a failed write is reported, never the job's failure.
        ctx.reportError(error, { operation: "progress", jobId: job.id });
        return false;
      }
    },
    results: (_job, ids) =>
      Promise.all(ids.map(async (id) => {
        const record = await ctx.driver.jobGet({ backend: backend(), id });
        return record ? toResult(record) : null;
      })),
  };
}
