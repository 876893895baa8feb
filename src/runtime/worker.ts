/**
 * A worker runner: claims as many ready jobs as it has free slots and runs them.
 *
 *   ┌─▶ free slots? ──no──▶ wait for a job to finish (no polling at capacity)
 *   │        │yes
 *   │   claim up to free ──got all──▶ claim again at once
 *   │        │got fewer
 *   └── wait pollingInterval, or a wake-up (local enqueue, finished job)
 *
 * Outcomes go through a Completer that batches them. Cancellation requested by
 * another process is noticed by a periodic check of the running job ids.
 */
import type { ResolvedWorker } from "../config.ts";
import type { ClaimedJob } from "../driver.ts";
import { errorInfo, JobCancelledError } from "../errors.ts";
import { Completer } from "./completer.ts";
import type { RuntimeContext } from "./context.ts";
import { executeJob, JobAbort, ShutdownSignal } from "./execute.ts";
import { IsolatePool } from "./isolate-pool.ts";
import { Runner } from "./runner.ts";
import { sleep, Waker, yieldToEventLoop } from "./sleep.ts";

const CANCEL_CHECK_MS = 1000;
/** Prefetch claims of this many jobs or more go out as two statements at once. */

export class Worker extends Runner {
  readonly #options: ResolvedWorker;
  readonly #waker: Waker;
  readonly #completer: Completer;
  readonly #inFlight = new Map<string, { abort: JobAbort; done: Promise<void> }>();
  readonly #mode: "async" | "worker";
  #pool: IsolatePool | null = null;
  /** Bumped when a claim starts and when it returns, so a reconciliation can tell one overlapped it. */
  #claimEpoch = 0;
  #claiming = false;
  /**
   * Claimed jobs waiting for a free slot (only with `prefetch`): claiming ahead in
   * bigger batches saves statements per job. They are held (status running) and
   * go back to ready at stop, so a slow worker should keep prefetch at 0.
   */
  #buffer: ClaimedJob[] = [];

  constructor(
    ctx: RuntimeContext,
    options: ResolvedWorker,
    name: string,
    supervisorId: string | null,
    mode: "async" | "worker" = "async",
  ) {
    super(ctx, "worker", name, supervisorId);
    this.#options = options;
    this.#mode = mode;
    this.#waker = new Waker(this.stopSignal);
    this.#completer = new Completer(ctx, this.id, name, () => this.#waker.wake());
  }

  protected override metadata(): Record<string, unknown> {
    const isolates = this.#mode === "worker" ? this.#options.isolates : 0;
    return { queues: this.#options.queues, concurrency: this.#options.concurrency, mode: this.#mode, isolates };
  }

  /** In worker mode, the isolates are up (each has imported the tasks module) before the first claim. */
  override async start(): Promise<void> {
    if (this.#mode === "worker") {
      const { config, tasksUrl, hooks, reportError } = this.ctx;
      if (!tasksUrl) throw new Error("worker mode needs the tasks module URL");
      const pool = new IsolatePool({
        size: this.#options.isolates,
        tasksUrl,
        name: this.name,
        watchdogTimeoutMs: config.isolateWatchdogTimeoutMs,
        abortGraceMs: config.isolateAbortGraceMs,
        onExit: (isolateName, error) => {
          reportError(error, { operation: "isolate", processName: isolateName });
          void hooks.emit({ name: "worker.exit", kind: "worker", processName: isolateName, processId: this.id, error });
        },
      });
      await pool.start();
      this.#pool = pool;
    }
    try {
      await super.start();
    } catch (error) {
      void this.#pool?.stop();
      throw error;
    }
  }

  /** Live isolates (worker mode); 0 in async mode. */
  get isolatesAlive(): number {
    return this.#pool?.alive ?? 0;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  protected async run(): Promise<void> {
    const { config } = this.ctx;
    const unsubscribe = this.ctx.wakeups.subscribe(this.#options.selectors, () => this.#waker.wake());
    const cancelCheck = setInterval(() => this.#checkCancels(), CANCEL_CHECK_MS);
    const reconcile = setInterval(() => this.#reconcile(), config.processHeartbeatIntervalMs);
    let failures = 0;
    try {
      while (!this.stopSignal.aborted) {
        this.#startBuffered();
        const { concurrency, prefetch } = this.#options;
        const room = concurrency + prefetch - this.#inFlight.size - this.#buffer.length;
        // At capacity, or with a buffer still over half full: wait for a job to finish.
        if (room <= 0 || (prefetch > 0 && this.#buffer.length > prefetch / 2)) {
          await this.#waker.wait(Infinity);
          continue;
        }
        let claimed: ClaimedJob[];
        this.#claiming = true;
        this.#claimEpoch++;
        try {
          claimed = await this.#claim(room);
          failures = 0;
        } catch (error) {
          failures++;
          this.#claiming = false;
          this.#claimEpoch++;
          this.ctx.reportError(error, { operation: "claim", processName: this.name });
          // Back off on a failing database, but not so far that a recovered one waits long.
          await sleep(Math.min(2000, this.#options.pollingIntervalMs * 2 ** Math.min(failures, 10)), this.stopSignal);
          continue;
        }
        this.#claiming = false;
        this.#claimEpoch++;
        this.#buffer.push(...claimed);
        this.#startBuffered();
        if (claimed.length < room) await this.#waker.wait(this.#options.pollingIntervalMs);
        else await yieldToEventLoop();
      }
    } finally {
      clearInterval(cancelCheck);
      clearInterval(reconcile);
      unsubscribe();
    }
  }

  /**
   * Claims up to `limit` jobs in one statement. (Splitting a big prefetch claim
   * into two statements side by side was tried: once a claim stopped writing the
   * jobs' rows, the second statement cost more database time than it saved, as
   * both walk the same head of the ready index.)
   */
  #claim(limit: number): Promise<ClaimedJob[]> {
    const { config, driver } = this.ctx;
    return driver.jobsClaim({
      backend: config.backend,
      processId: this.id,
      selectors: this.#options.selectors,
      limit,
      now: new Date(),
    });
  }

  /** Starts buffered jobs while slots are free. */
  #startBuffered(): void {
    while (this.#buffer.length > 0 && this.#inFlight.size < this.#options.concurrency) this.#launch(this.#buffer.shift()!);
  }

  #launch(job: ClaimedJob): void {
    const abort = new JobAbort();
    this.ctx.running.set(job.id, abort);
    const pool = this.#pool;
    const run = pool ? (_payload: unknown, ctx: { signal: AbortSignal }) => pool.run(job, ctx.signal) : undefined;
    const settled = () => {
      this.#inFlight.delete(job.id);
      this.ctx.running.delete(job.id);
      // The next buffered job starts here, not in the loop, which may be waiting on a claim.
      if (!this.stopSignal.aborted) this.#startBuffered();
      this.#waker.wake();
    };
    const done = executeJob(job, this.ctx.tasks.get(job.task), abort, run).then(
      (outcome) => {
        this.#completer.add(outcome);
        settled();
      },
      (error) => {
        settled();
        this.ctx.reportError(error, { operation: "execute", processName: this.name, jobId: job.id });
      },
    );
    this.#inFlight.set(job.id, { abort, done });
  }

  /**
   * Claims this worker holds in the database but does not know about — a claim
   * that committed while its answer was lost to a dropped connection — go back
   * to ready. Skipped when a claim overlaps the check, since its jobs would
   * look unknown for a moment.
   */
  async #reconcile(): Promise<void> {
    if (this.#claiming || this.stopSignal.aborted) return;
    const epoch = this.#claimEpoch;
    try {
      const held = await this.ctx.driver.claimsHeld({ backend: this.ctx.config.backend, processId: this.id });
      if (this.#claiming || epoch !== this.#claimEpoch || this.stopSignal.aborted) return;
      const unwritten = this.#completer.unwrittenIds();
      const buffered = new Set(this.#buffer.map((j) => j.id));
      const lost = held.filter((id) => !this.#inFlight.has(id) && !buffered.has(id) && !unwritten.has(id));
      if (lost.length === 0) return;
      this.ctx.logger.warn(`${this.name}: releasing ${lost.length} claim(s) it did not know it held`, { lost });
      for (const id of lost) this.#completer.add({ id, kind: "released" });
    } catch (error) {
      this.ctx.reportError(error, { operation: "reconcile claims", processName: this.name });
    }
  }

  async #checkCancels(): Promise<void> {
    if (this.#inFlight.size === 0 && this.#buffer.length === 0) return;
    try {
      const ids = await this.ctx.driver.jobsCancelRequested({
        backend: this.ctx.config.backend,
        ids: [...this.#inFlight.keys(), ...this.#buffer.map((j) => j.id)],
      });
      for (const id of ids) {
        this.#inFlight.get(id)?.abort.abort(new JobCancelledError(id));
        const at = this.#buffer.findIndex((j) => j.id === id);
        if (at !== -1) {
          this.#buffer.splice(at, 1);
          this.#completer.add({ id, kind: "cancelled", error: errorInfo(new JobCancelledError(id)) });
        }
      }
    } catch (error) {
      this.ctx.reportError(error, { operation: "cancel check", processName: this.name });
    }
  }

  /** Waits for running jobs up to shutdownTimeout, then releases the rest back to ready. */
  protected override async windDown(immediate: boolean): Promise<void> {
    // Buffered jobs never started: back to ready at once, whatever the drain does.
    for (const job of this.#buffer.splice(0)) this.#completer.add({ id: job.id, kind: "released" });
    const deadline = Date.now() + (immediate ? 0 : this.ctx.config.shutdownTimeoutMs);
    const all = () => Promise.all([...this.#inFlight.values()].map((f) => f.done));
    if (this.#inFlight.size > 0 && !immediate) {
      // The deadline's timer is cleared once the jobs are done: a pending timer would keep the process alive.
      const timer = new AbortController();
      await Promise.race([all(), sleep(Math.max(0, deadline - Date.now()), timer.signal)]);
      timer.abort();
    }
    for (const { abort } of this.#inFlight.values()) abort.abort(new ShutdownSignal());
    await all();
    // A graceful stop gives aborted handlers the abort grace to see their signal before their isolates go.
    await this.#pool?.stop(immediate ? 0 : this.ctx.config.isolateAbortGraceMs);
    await this.#completer.flush(Date.now() + Math.max(5000, this.ctx.config.shutdownTimeoutMs));
  }
}
