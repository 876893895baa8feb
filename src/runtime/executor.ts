/**
 * The execution seam: how a worker runs one claimed job to its outcome. The
 * worker picks its executor once, by mode, when it is made, and then calls
 * run() for every job with no mode of its own to branch on.
 *
 *   async mode   inlineExecutor    the handler runs in this event loop (executeJob)
 *   worker mode  isolateExecutor   an IsolatePool runs the handler; the timeout and
 *                                  the outcome stay on this thread (executeInIsolate)
 *
 *   made ──start()──▶ running (run(job, abort) per job) ──stop(grace)──▶ stopped
 *
 * run() decides an outcome on every path (execute.ts). In worker mode it
 * resolves only once the isolate is done with the job, and a job the isolate
 * never started comes back released. The payload goes to the isolate as the
 * text it was stored as, and the result comes back as the JSON text to store.
 */
import type { ClaimedJob, Outcome } from "../records.ts";
import type { RuntimeContext } from "./context.ts";
import { executeInIsolate, executeJob, type HookReport, type IsolateRun, type JobAbort } from "./execute.ts";
import type { JobServices } from "./durable.ts";
import { driverServices } from "./services.ts";
import { IsolatePool } from "./isolate-pool.ts";
import { transactor } from "./transactional.ts";

export interface Executor {
  /** Runs one claimed job and decides its outcome. */
  run(job: ClaimedJob, abort: JobAbort): Promise<Outcome>;
  /** Ready to run jobs: in worker mode, every isolate has imported the tasks module. */
  start(): Promise<void>;
  /**
   * After the worker's drain, once it aborted the jobs still running: worker
   * mode gives aborted handlers `graceMs` to see their signal, then terminates
   * the isolates (jobs still inside them fail, those never started go back to ready).
   */
  stop(graceMs: number): Promise<void>;
  /** Live isolates; 0 inline. */
  readonly isolatesAlive: number;
}

/** Async mode: the handler runs in this event loop; its durable calls go to the driver directly. */
export function inlineExecutor(ctx: RuntimeContext, worker: { name: string; processId: string }): Executor {
  const services = { ...driverServices(ctx, worker.processId), transact: transactor(ctx, worker) };
  const report: HookReport = (error, job) =>
    ctx.reportError(error, { operation: "task hook", processName: worker.name, jobId: job.id });
  return {
    run: (job, abort) => executeJob(job, ctx.tasks.get(job.task), abort, services, report),
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    isolatesAlive: 0,
  };
}

/**
 * Worker mode: `isolates` Web Workers (worker threads on Node), each importing the tasks module by URL.
 * The main thread's copy of each task still supplies its timeout and retry policy. The handlers'
 * durable calls come here by message and are served as in async mode; what hooks threw in an
 * isolate is reported here.
 */
export function isolateExecutor(
  ctx: RuntimeContext,
  worker: { name: string; processId: string; isolates: number },
): Executor {
  let pool: IsolatePool | null = null;
  const runInPool: IsolateRun = (job, signal) => pool!.run(job, signal);
  // Jobs whose steps were read or written while they ran: their outcome says so (records.ts Outcome.stored).
  const stored = new Set<string>();
  const served = driverServices(ctx, worker.processId);
  const services: JobServices = {
    stepList: (job) =>
      served.stepList(job).then((values) => {
        if (values.size > 0) stored.add(job.id);
        return values;
      }),
    stepSave: (job, name, value) => served.stepSave(job, name, value).then((saved) => (stored.add(job.id), saved)),
    spawn: (job, ...args) => served.spawn(job, ...args).then((saved) => (stored.add(job.id), saved)),
    results: served.results,
    progress: served.progress,
  };
  return {
    async run(job, abort) {
      const outcome = await executeInIsolate(job, ctx.tasks.get(job.task), abort, runInPool);
      if (stored.delete(job.id)) outcome.stored = true;
      return outcome;
    },
    async start() {
      const { config, tasksUrl, hooks, reportError, platform } = ctx;
      if (!tasksUrl) throw new Error("worker mode needs the tasks module URL");
      const starting = new IsolatePool({
        size: worker.isolates,
        tasksUrl,
        name: worker.name,
        watchdogTimeoutMs: config.isolateWatchdogTimeoutMs,
        abortGraceMs: config.isolateAbortGraceMs,
        spawn: platform?.spawnIsolate && ((url, name) => platform.spawnIsolate!(url, name)),
        services,
        onHookError: (error, job) => reportError(error, { operation: "task hook", processName: worker.name, jobId: job.id }),
        onExit: (isolateName, error) => {
          reportError(error, { operation: "isolate", processName: isolateName });
          const processId = worker.processId;
          void hooks.emit({ name: "worker.exit", kind: "worker", processName: isolateName, processId, error });
        },
      });
      await starting.start();
      pool = starting;
    },
    stop: (graceMs) => pool?.stop(graceMs) ?? Promise.resolve(),
    get isolatesAlive() {
      return pool?.alive ?? 0;
    },
  };
}
