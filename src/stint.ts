/**
 * The Stint instance: enqueue, inspect and operate on jobs, and start the runtime.
 */
import type { ResolvedConfig, RuntimeErrorContext } from "./config.ts";
import type { Driver } from "./driver.ts";
import type { JobFilter, JobStatus, JobSummary, NewJob } from "./records.ts";
import { queueDepths } from "./depths.ts";
import { type CancelEffects, cancelChildren, cancelJob } from "./cancel.ts";
import { buildJob, type EnqueueOptions } from "./enqueue.ts";
import { ConfigError, EnqueueError, JobCancelledError, JobNotFoundError, KeyTakenError, StintClosedError, StintError, UndiscardableError } from "./errors.ts";
import { isJobId } from "./ids.ts";
import type { Logger } from "./log.ts";
import type { Platform } from "./platform.ts";
import { type QueueHandle, queueHandle } from "./queue.ts";
import { collectStats, type Stats } from "./stats.ts";
import { checkHealth, type HealthReport } from "./health.ts";
import type { Duration } from "./duration.ts";
import { handles, type JobHandle, type JobResult, toResult } from "./result.ts";
import type { RuntimeContext } from "./runtime/context.ts";
import { type HookFn, type HookName, Hooks } from "./runtime/hooks.ts";
import { Supervisor } from "./runtime/supervisor.ts";
import { refuseTransactionalInWorkerMode } from "./runtime/transactional.ts";
import { Wakeups } from "./runtime/wakeups.ts";
import type { AnyTask, Task } from "./task.ts";
import type { ScheduleOptions } from "./recurring.ts";
import { type ScheduledTask, scheduleTask } from "./schedule.ts";
import { type PruneOptions, pruneParams, type PruneResult } from "./retention.ts";
import {
  checkFilter,
  checkHealthOptions,
  checkListArgs,
  checkStartOptions,
  configCheck,
  type ListOptions,
  type QueueDepthOptions,
  type StartOptions,
} from "./validate.ts";
import { JobWaits, type WaitOptions } from "./wait.ts";
import { checkJobsOptions, type JobsOptions } from "./job-query.ts";

export interface EnqueueItem {
  task: AnyTask | string;
  payload?: unknown;
  options?: Omit<EnqueueOptions, "tx">;
}

function checkId(id: unknown): string {
  if (!isJobId(id)) throw new JobNotFoundError(String(id));
  return id;
}

export class Stint {
  readonly config: ResolvedConfig;
  readonly driver: Driver;
  readonly tasks: Map<string, Task>;
  readonly #ctx: RuntimeContext;
  readonly #supervisors = new Set<Supervisor>();
  readonly #waits = new JobWaits();
  #closed = false;

  constructor(
    config: ResolvedConfig,
    driver: Driver,
    tasks: Map<string, Task>,
    platform: Platform | null,
    logger: Logger,
    onRuntimeError?: (error: unknown, context: RuntimeErrorContext) => void,
    tasksUrl: string | null = null,
  ) {
    this.config = config;
    this.driver = driver;
    this.tasks = tasks;
    const reportError = (error: unknown, context: RuntimeErrorContext) => {
      try {
        if (onRuntimeError) onRuntimeError(error, context);
        else logger.error(`${context.operation} failed${context.processName ? ` in ${context.processName}` : ""}`, { error });
      } catch (inner) {
        // Reporting must never throw into the runtime: a throw here once stopped every outcome write.
        try {
          logger.error("onRuntimeError threw", { error: inner });
        } catch {
          // Nothing left to report with.
        }
      }
    };
    this.#ctx = {
      driver,
      config,
      tasks,
      tasksUrl,
      wakeups: new Wakeups(),
      hooks: new Hooks(reportError),
      logger,
      platform,
      reportError,
      running: new Map(),
      outcomesWritten: (ids) => this.#waits.ended(ids),
    };
  }

  /** Every method refuses to run once close() has begun: the client is gone, and a raw driver error would say less. */
  #open(method: string): void {
    if (this.#closed) throw new StintClosedError(`${method}() was called after close()`);
  }

  get backend(): string {
    return this.config.backend;
  }

  /** Creates or upgrades the tables. Idempotent. Returns the versions applied now. */
  async migrate(): Promise<number[]> {
    this.#open("migrate");
    return await this.driver.migrate();
  }

  async enqueue<P>(task: Task<P> | string, payload?: P, options?: EnqueueOptions): Promise<JobHandle> {
    this.#open("enqueue");
    // One clock read per enqueue: the job's id, its due time and the insert's `now` agree.
    const now = Date.now();
    const job = buildJob(task as Task | string, payload, options, this.tasks, now, "", this.config.defaultConcurrencyDurationMs);
    const tx = options?.tx;
    const [inserted] = handles(await this.driver.jobInsertMany({ backend: this.backend, jobs: [job], now: new Date(now), tx }));
    // Inside the caller's transaction nothing is visible yet: polling (or the
    // database's own on-commit notification) wakes workers after the commit.
    if (tx === undefined && inserted.status === "ready") this.#ctx.wakeups.notify([job.queue]);
    if (!inserted.duplicate) await this.#onEnqueue(task as Task | string, job, inserted, payload, tx);
    return inserted;
  }

  /** The task's onEnqueue hook, right after its job was written (inside `tx` when there is one). */
  async #onEnqueue(task: Task | string, job: NewJob, inserted: JobHandle, payload: unknown, tx: unknown): Promise<void> {
    const hook = (typeof task === "string" ? this.tasks.get(task) : task)?.hooks?.onEnqueue;
    if (!hook) return;
    await hook({ id: job.id, task: job.task, queue: job.queue, status: inserted.status, payload: payload ?? null, tx });
  }

  /** Enqueues many jobs in one transaction; any bad item throws before anything is written. */
  async enqueueAll(items: EnqueueItem[]): Promise<JobHandle[]> {
    this.#open("enqueueAll");
    if (!Array.isArray(items)) throw new EnqueueError("enqueueAll takes an array of { task, payload, options }");
    const now = Date.now();
    const jobs = items.map((item, i) => {
      if (item === null || typeof item !== "object") throw new EnqueueError(`items[${i}]: must be { task, payload, options }`);
      if (typeof item.options === "object" && item.options !== null && "tx" in item.options) throw new EnqueueError(`items[${i}]: tx is not supported in enqueueAll`);
      return buildJob(item.task, item.payload, item.options, this.tasks, now, `items[${i}]: `, this.config.defaultConcurrencyDurationMs);
    });
    if (jobs.length === 0) return [];
    const inserted = handles(await this.driver.jobInsertMany({ backend: this.backend, jobs, now: new Date(now) }));
    this.#ctx.wakeups.notify(new Set(jobs.filter((_, i) => inserted[i].status === "ready").map((j) => j.queue)));
    // A duplicate wrote no job of its own (DESIGN §11): no onEnqueue for it.
    for (const [i, item] of items.entries()) {
      if (!inserted[i].duplicate) await this.#onEnqueue(item.task, jobs[i], inserted[i], item.payload, undefined);
    }
    return inserted;
  }

  async getResult<R = unknown, P = unknown>(id: string): Promise<JobResult<R, P>> {
    this.#open("getResult");
    const record = await this.driver.jobGet({ backend: this.backend, id: checkId(id) });
    if (!record) throw new JobNotFoundError(id);
    return toResult<R, P>(record);
  }

  queue(name: string): QueueHandle {
    this.#open("queue");
    return queueHandle(this.driver, this.backend, configCheck.name(name, "queue name"), (m) => this.#open(m));
  }

  async queues(): Promise<QueueHandle[]> {
    this.#open("queues");
    const infos = await this.driver.queueList({ backend: this.backend });
    return infos.map((i) => queueHandle(this.driver, this.backend, i.queue, (m) => this.#open(m)));
  }

  /**
   * Jobs waiting to run (ready, scheduled, blocked) by queue; every queue asked
   * for is present, 0 included. `excludeFuture` leaves out jobs scheduled later than now.
   */
  async queueDepths(options?: QueueDepthOptions): Promise<Record<string, number>> {
    this.#open("queueDepths");
    return await queueDepths(this.driver, this.backend, options, new Date());
  }

  /**
   * Resolves with the job's result once it has ended: succeeded, failed,
   * discarded or cancelled (a job waiting for a retry has not). `timeout`
   * rejects with a WaitTimeoutError naming the last status; close() rejects
   * with STINT_CLOSED.
   */
  async waitFor<R = unknown, P = unknown>(job: string | JobHandle, options?: WaitOptions): Promise<JobResult<R, P>> {
    this.#open("waitFor");
    const read = async (id: string) => {
      const record = await this.driver.jobGet({ backend: this.backend, id });
      return record ? toResult(record) : null;
    };
    return await this.#waits.wait(read, job, options) as JobResult<R, P>;
  }

  /**
   * Puts a failed job back to ready. A job with a unique key takes it back,
   * unless another job holds it, waiting or running: then KeyTakenError, and
   * nothing changes (DESIGN §11).
   */
  async retryJob(id: string): Promise<JobHandle> {
    this.#open("retryJob");
    const { count, queues, taken } = await this.driver.jobRetryMany({ backend: this.backend, ids: [checkId(id)], now: new Date() });
    const held = taken?.find((k) => k.id === id);
    if (held) throw new KeyTakenError(id, held.key, held.holderId);
    if (count === 0) {
      const { status } = await this.getResult(id);
      throw new StintError("JOB_NOT_FAILED", `job ${id} is ${status}; only failed jobs can be retried`);
    }
    this.#ctx.wakeups.notify(queues);
    return { id, status: "ready", duplicate: false };
  }

  /** Discards a ready, scheduled, blocked or failed job (kept as a finished row). */
  async discardJob(id: string): Promise<JobHandle> {
    this.#open("discardJob");
    const { statuses } = await this.driver.jobDiscardMany({ backend: this.backend, ids: [checkId(id)], now: new Date() });
    const before = statuses.get(id);
    if (before === undefined) throw new JobNotFoundError(id);
    if (before === "running" || before === "succeeded" || before === "cancelled") throw new UndiscardableError(id, before);
    this.#waits.ended([id]);
    await cancelChildren(this.driver, this.backend, id, this.#cancelEffects);
    return { id, status: "discarded", duplicate: false };
  }

  /**
   * Retries every failed job (matching the filter); returns how many. Jobs whose
   * unique key another job holds stay failed, and a warning says how many.
   */
  async retryAll(filter: JobFilter = {}): Promise<number> {
    this.#open("retryAll");
    const { count, taken } = await this.driver.jobRetryMany({ backend: this.backend, filter: checkFilter(filter), now: new Date() });
    if (taken && taken.length > 0) {
      this.#ctx.logger.warn(`retryAll: ${taken.length} failed job(s) not retried: another job holds their key`, {
        jobs: taken.slice(0, 10),
      });
    }
    if (count > 0) {
      // Without a queue filter the retried jobs may be in any queue: every local worker looks.
      if (filter.queue === undefined) this.#ctx.wakeups.notifyAll();
      else this.#ctx.wakeups.notify([filter.queue]);
    }
    return count;
  }

  /** Discards every failed job (matching the filter); returns how many. */
  async discardAll(filter: JobFilter = {}): Promise<number> {
    this.#open("discardAll");
    const { discarded } = await this.driver.jobDiscardMany({ backend: this.backend, filter: checkFilter(filter), now: new Date() });
    if (discarded > 0) this.#waits.endedAny();
    return discarded;
  }

  /**
   * Enqueues a fresh copy (new id, attempt 1) of any stored job. A keyed job's
   * copy has its key, with onDuplicate "skip": when another job holds the key,
   * waiting or running, its handle comes back with `duplicate: true`.
   */
  async enqueueAgain(id: string): Promise<JobHandle> {
    this.#open("enqueueAgain");
    const record = await this.driver.jobGet({ backend: this.backend, id: checkId(id) });
    if (!record) throw new JobNotFoundError(id);
    const now = Date.now();
    const known = this.tasks.has(record.task) ? this.tasks : new Map();
    const options = { queue: record.queue, priority: record.priority, ...(record.key ? { key: record.key } : {}) };
    const job = buildJob(record.task, JSON.parse(record.payload), options, known, now);
    job.concurrency = record.concurrency ?? null; // the copy keeps the stored concurrency policy
    const [inserted] = handles(await this.driver.jobInsertMany({ backend: this.backend, jobs: [job], now: new Date(now) }));
    this.#ctx.wakeups.notify([job.queue]);
    return inserted;
  }

  /**
   * Cancels a job. A waiting one is cancelled at once; a running one has its
   * signal aborted (here, or by its runner within a second) and ends cancelled.
   */
  async cancel(id: string): Promise<JobHandle> {
    this.#open("cancel");
    return await cancelJob(this.driver, this.backend, checkId(id), this.#cancelEffects);
  }

  readonly #cancelEffects: CancelEffects = {
    running: (id) => this.#ctx.running.get(id)?.abort(new JobCancelledError(id)),
    ended: (ids) => this.#waits.ended(ids),
  };



  /**
   * Creates or updates a dynamic recurring task (needs scheduler.dynamicTasks).
   * A bad cron, an unknown task or a static task's key is a ConfigError, and nothing is written.
   */
  async schedule(options: ScheduleOptions): Promise<ScheduledTask> {
    this.#open("schedule");
    return await scheduleTask(this.driver, this.config, this.tasks, options);
  }

  /** Removes a dynamic recurring task; returns how many were removed (0 for a static or unknown key). */
  async unschedule(key: string): Promise<number> {
    this.#open("unschedule");
    return await this.driver.recurringDelete({ backend: this.backend, key: configCheck.name(key, "unschedule key") });
  }

  /**
   * Deletes one bounded batch (batchSize, default 500) of each: finished jobs,
   * failed jobs and recurring reservations older than their window (the
   * configured ones when none is given). `limitReached` says to call it again.
   */
  async prune(options: PruneOptions = {}): Promise<PruneResult> {
    this.#open("prune");
    return await this.driver.retentionPrune(pruneParams(options, this.config, Date.now()));
  }

  /** Whether this backend's supervisors and their runners heartbeat within `maxAge` (default processAliveThreshold). */
  async health(options?: { maxAge?: Duration }): Promise<HealthReport> {
    this.#open("health");
    const { maxAge } = checkHealthOptions(options);
    return await checkHealth(this.driver, this.backend, maxAge ?? this.config.processAliveThresholdMs);
  }

  /** Queues, processes, recurring tasks and semaphores of this backend. */
  async stats(): Promise<Stats> {
    this.#open("stats");
    return await collectStats(this.driver, this.backend, this.config.processAliveThresholdMs);
  }

  /** Jobs in one status, newest first (for dashboards). */
  async listJobs(status: JobStatus, options?: ListOptions): Promise<JobSummary[]> {
    this.#open("listJobs");
    return await this.driver.jobList({ backend: this.backend, ...checkListArgs(status, options) });
  }

  /**
   * Jobs matching every filter given, newest first. `where` matches top-level
   * fields of the payload (of the current workspace for a multi-step job) by
   * JSON equality: `{ where: { userId: 7 } }`.
   */
  async jobs(options?: JobsOptions): Promise<JobSummary[]> {
    this.#open("jobs");
    return await this.driver.jobList({ backend: this.backend, ...checkJobsOptions(options) });
  }

  /** Registers a lifecycle hook; returns a function that removes it. */
  on(name: HookName, fn: HookFn): () => void {
    return this.#ctx.hooks.on(name, fn);
  }

  /** Starts a supervisor with this instance's workers and dispatchers. */
  async start(options: StartOptions = {}): Promise<Supervisor> {
    this.#open("start");
    const checked = checkStartOptions(options);
    const mode = checked.mode ?? this.config.mode ?? (checked.standalone ? "worker" : "async");
    if (mode === "worker" && !this.#ctx.tasksUrl && checked.only !== "dispatch") {
      throw new ConfigError(
        'mode "worker": isolates import tasks by URL; pass createStint({ tasks: new URL("./tasks.ts", import.meta.url) })',
      );
    }
    if (mode === "worker" && checked.only !== "dispatch") refuseTransactionalInWorkerMode(this.tasks, "start");
    if (this.tasks.size === 0 && checked.only !== "dispatch") {
      throw new ConfigError("tasks: a runtime that runs jobs needs tasks (createStint({ tasks }))");
    }
    const supervisor = new Supervisor(this.#ctx, { ...checked, mode });
    this.#supervisors.add(supervisor);
    supervisor.stopped.then(() => this.#supervisors.delete(supervisor));
    await supervisor.start();
    return supervisor;
  }

  /** Stops any runtime this instance started, then closes the database client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waits.closeAll();
    await Promise.all([...this.#supervisors].map((s) => s.stop()));
    await this.driver.close();
  }
}
