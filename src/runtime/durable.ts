/**
 * The context a handler gets, with its durable calls (DESIGN §10). A durable
 * call stores what it did under its name, in the job's steps (stint_steps),
 * so that when the handler runs again — a retry, crash recovery, the wake-up
 * after a sleep or a join — it returns what it returned before instead of
 * doing it again. One namespace per job; the stored value says which call
 * made it:
 *
 *   ctx.step    {"step": <the result>}
 *   ctx.sleep   {"sleep": <wake-up time, ms>}
 *   ctx.spawn   {"spawn": {"id": …, "status": …}}
 *   ctx.join    nothing: it reads the children each time
 *
 * A sleep not yet due and a join of children not all ended suspend the job:
 * they abort the job with a SuspendSignal (the outcome is decided from it, as
 * from any abort) and never settle, so the handler goes no further.
 *
 * The same class runs in async mode and inside isolates; only `JobServices`
 * differs (the driver on the main thread, messages to it from an isolate).
 */
import { ResultError, StepError, SuspendSignal, TransactionError } from "../errors.ts";
import { jsonProblem } from "../json.ts";
import type { ClaimedJob, Outcome } from "../records.ts";
import type { JobHandle, JobResult } from "../result.ts";
import type { SpawnOptions, TaskContext } from "../task-context.ts";
import { stepCheck } from "../validate.ts";
import type { JobAbort } from "./abort.ts";
import { stepAttempt } from "./position.ts";
import { ProgressWriter } from "./progress.ts";
import type { TxGuard } from "./tx-guard.ts";

/**
 * Runs `attempt` (the handler or the body, racing the abort) in a transaction
 * and writes its outcome there (transactional.ts); resolves with that outcome,
 * marked `committed`, or rejects with why it rolled back.
 */
export type Transact = (job: ClaimedJob, ctx: JobContext, attempt: () => Promise<Outcome>) => Promise<Outcome>;

/** What the durable calls ask of the queue, for one job. */
export interface JobServices {
  /** The job's stored values by name. */
  stepList(job: ClaimedJob): Promise<Map<string, string>>;
  /** Stores `value` under `name` unless one is stored; the value now stored (StepError when the claim is lost). */
  stepSave(job: ClaimedJob, name: string, value: string): Promise<string>;
  /** Enqueues the child and stores {"spawn": handle} under `name`, once; the value now stored. */
  spawn(job: ClaimedJob, name: string, task: string, payload: unknown, options: SpawnOptions | undefined): Promise<string>;
  /** The jobs' results (null for one not found), in order. */
  results(job: ClaimedJob, ids: string[]): Promise<Array<JobResult | null>>;
  /** Stores `value` (JSON text) as the job's latest progress while the claim is held; never rejects. */
  progress(job: ClaimedJob, value: string): Promise<unknown>;
  /** Async mode: runs a transactional task's attempt in a transaction (transactional.ts); absent in isolates. */
  transact?: Transact;
}

const ENDED = new Set(["succeeded", "failed", "discarded", "cancelled"]);
type Kind = "step" | "sleep" | "spawn" | "join";

export class JobContext implements TaskContext {
  readonly job: ClaimedJob;
  /** Set before onFailure runs (FailureContext). */
  willRetry = false;
  /** The job has stored steps (read or written in this run): its outcome says so (records.ts Outcome.stored). */
  stored = false;
  /** A transactional task's transaction, while its attempt runs (transactional.ts). */
  txGuard: TxGuard | null = null;
  readonly #abort: JobAbort;
  readonly #services: JobServices;
  readonly #now: () => number;
  /** Names used in this run (a second use is a StepError). */
  #used: Set<string> | null = null;
  #stored: Promise<Map<string, string>> | null = null;
  /** Made by the first ctx.progress: a job that never calls it pays nothing. */
  #progress: ProgressWriter | null = null;

  constructor(job: ClaimedJob, abort: JobAbort, services: JobServices, now: () => number = Date.now) {
    this.job = job;
    this.#abort = abort;
    this.#services = services;
    this.#now = now;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
  get jobId(): string {
    return this.job.id;
  }
  get attempt(): number {
    return stepAttempt(this.job);
  }
  get task(): string {
    return this.job.task;
  }
  get queue(): string {
    return this.job.queue;
  }
  get parentId(): string | null {
    return this.job.parentId ?? null;
  }
  // deno-lint-ignore no-explicit-any
  get tx(): any {
    if (this.txGuard === null) {
      throw new TransactionError(
        `ctx.tx: task ${this.job.task} is not transactional (defineTask(name, handler, { transactional: true }))`,
      );
    }
    return this.txGuard.tx;
  }

  /** Durable calls not settled yet (a handler that returns before they settle did not await one). */
  pending = 0;
  #closed = false;

  /**
   * The attempt's outcome is decided: a durable call made from now on (by a
   * handler still running after its timeout, say) does nothing and never settles.
   */
  close(): void {
    this.#closed = true;
  }

  /**
   * Keeps `value` as the job's latest progress: stored at most about once a second, the
   * last value always (flushProgress). A value that is not JSON is a ResultError, nothing stored.
   */
  progress(value: unknown): void {
    const problem = jsonProblem(value === undefined ? null : value, "progress value");
    if (problem) throw new ResultError(`${this.job.task}: ctx.progress: ${problem}`);
    // Its write would wait for the handler's own transaction (one writer on SQLite): refused rather than hung.
    if (this.txGuard !== null) throw new TransactionError(`ctx.progress: task ${this.job.task} is transactional; progress is not stored`);
    if (this.#closed) return;
    this.#progress ??= new ProgressWriter((json) => this.#services.progress(this.job, json), this.#now);
    this.#progress.set(JSON.stringify(value === undefined ? null : value));
  }

  /**
   * Once the attempt is decided (after close): stores the progress still pending, before the outcome is written.
   * Null when the handler never called ctx.progress: a plain job's outcome waits for nothing, not even a tick.
   */
  flushProgress(): Promise<void> | null {
    return this.#progress?.flush() ?? null;
  }

  step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return this.#guard(() => this.#step(name, fn));
  }

  sleep(name: string, duration: unknown): Promise<void> {
    return this.#guard(() => {
      this.#use(name, "sleep");
      const ms = stepCheck.duration(duration, `sleep ${JSON.stringify(name)}`);
      return this.#sleepTo(name, this.#now() + ms);
    });
  }

  sleepUntil(name: string, date: Date): Promise<void> {
    return this.#guard(() => {
      this.#use(name, "sleep");
      if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
        throw new StepError(`sleepUntil ${JSON.stringify(name)}: the second argument must be a valid Date`);
      }
      return this.#sleepTo(name, date.getTime());
    });
  }

  spawn(name: string, task: { readonly name: string } | string, payload?: unknown, options?: SpawnOptions): Promise<JobHandle> {
    return this.#guard(() => this.#spawn(name, task, payload, options));
  }

  join<R = unknown>(name: string, children: Array<JobHandle | string>): Promise<Array<JobResult<R>>> {
    return this.#guard(() => this.#join<R>(name, children));
  }

  /**
   * Runs a durable call, counted while it is pending. Its rejection is marked
   * handled (the caller that awaits still sees it): a call the handler did not
   * await must not become an unhandled rejection, which ends the process on
   * Deno and Node. execute.ts fails an attempt whose handler settled with a
   * call still pending.
   */
  #guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closed) return new Promise<T>(() => {});
    let promise: Promise<T>;
    try {
      if (this.txGuard !== null) {
        // Its steps would commit on their own while the handler's writes roll back (and on
        // SQLite wait for the write lock the handler's transaction holds).
        throw new TransactionError(
          "ctx.step, sleep, spawn and join cannot be used in a transactional task: split the work into tasks, or make it one transaction",
        );
      }
      promise = call();
    } catch (error) {
      promise = Promise.reject(error);
    }
    this.pending++;
    const settled = () => void this.pending--;
    promise.then(settled, settled);
    return promise;
  }

  async #step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    this.#use(name, "step");
    if (typeof fn !== "function") throw new StepError(`step ${JSON.stringify(name)}: the second argument must be a function`);
    const stored = (await this.#storedValues()).get(name);
    if (stored !== undefined) return this.#read(name, stored, "step") as T;
    const value = await fn();
    const result = value === undefined ? null : value;
    const problem = jsonProblem(result, `step ${JSON.stringify(name)}'s result`);
    if (problem) throw new ResultError(`${this.job.task}: ${problem}`);
    return this.#read(name, await this.#save(name, JSON.stringify({ step: result })), "step") as T;
  }

  async #spawn(name: string, task: { readonly name: string } | string, payload?: unknown, options?: SpawnOptions): Promise<JobHandle> {
    this.#use(name, "spawn");
    const taskName = typeof task === "string" ? task : typeof task?.name === "string" ? task.name : null;
    if (taskName === null) throw new StepError(`spawn ${JSON.stringify(name)}: the task must be a task or a task name`);
    let stored = (await this.#storedValues()).get(name);
    if (stored === undefined) {
      stored = await this.#services.spawn(this.job, name, taskName, payload, options);
      this.stored = true;
      (await this.#storedValues()).set(name, stored);
    }
    // A child is never a duplicate: spawn takes no key.
    return { ...(this.#read(name, stored, "spawn") as Omit<JobHandle, "duplicate">), duplicate: false };
  }

  async #join<R>(name: string, children: Array<JobHandle | string>): Promise<Array<JobResult<R>>> {
    this.#use(name, "join");
    if (!Array.isArray(children)) throw new StepError(`join ${JSON.stringify(name)}: children must be an array of job handles`);
    const ids = children.map((child, i) => {
      const id = typeof child === "string" ? child : (child as JobHandle | null)?.id;
      if (typeof id !== "string") throw new StepError(`join ${JSON.stringify(name)}: children[${i}] is not a job handle`);
      return id;
    });
    if (ids.length === 0) return [];
    const results = await this.#services.results(this.job, ids);
    results.forEach((result, i) => {
      if (result === null || result.parentId !== this.job.id) {
        throw new StepError(`join ${JSON.stringify(name)}: job ${ids[i]} is not a child of job ${this.job.id}`);
      }
    });
    const open = (results as JobResult<R>[]).filter((r) => !ENDED.has(r.status)).map((r) => r.id);
    if (open.length === 0) return results as JobResult<R>[];
    return this.#suspend(new SuspendSignal({ children: open }));
  }

  async #sleepTo(name: string, until: number): Promise<void> {
    const stored = (await this.#storedValues()).get(name);
    const at = this.#read(name, stored ?? await this.#save(name, JSON.stringify({ sleep: until })), "sleep") as number;
    if (at <= this.#now()) return;
    return this.#suspend(new SuspendSignal({ until: at }));
  }

  /** Ends the attempt: the abort decides the outcome; the handler's await never settles. */
  #suspend(signal: SuspendSignal): Promise<never> {
    this.#abort.abort(signal);
    return new Promise<never>(() => {});
  }

  #use(name: string, kind: Kind): void {
    stepCheck.name(name, `${kind} name`);
    this.#used ??= new Set();
    if (this.#used.has(name)) throw new StepError(`${JSON.stringify(name)} is used twice in one run of job ${this.job.id}`);
    this.#used.add(name);
  }

  #storedValues(): Promise<Map<string, string>> {
    return this.#stored ??= this.#services.stepList(this.job).then((values) => {
      if (values.size > 0) this.stored = true;
      return values;
    });
  }

  async #save(name: string, value: string): Promise<string> {
    if (this.#closed) return new Promise<string>(() => {});
    const saved = await this.#services.stepSave(this.job, name, value);
    this.stored = true;
    (await this.#storedValues()).set(name, saved);
    return saved;
  }

  /** The stored value of a call of `kind`; a StepError when the name was stored by another kind of call. */
  #read(name: string, stored: string, kind: "step" | "sleep" | "spawn"): unknown {
    const value = JSON.parse(stored) as Record<string, unknown>;
    if (value === null || typeof value !== "object" || !(kind in value)) {
      const other = value && typeof value === "object" ? Object.keys(value)[0] : "?";
      throw new StepError(`${JSON.stringify(name)} was stored by ctx.${other}, not ctx.${kind}`);
    }
    return value[kind];
  }
}
