/**
 * A worker runner: claims as many ready jobs as it has free slots and runs them.
 *
 *   ┌─▶ free slots? ──no──▶ wait for a job to finish (no polling at capacity)
 *   │        │yes
 *   │   claim up to free ──got all──▶ claim again at once
 *   │        │got fewer
 *   └── wait pollingInterval, or a wake-up (local enqueue, finished job)
 *
 * With `prefetch`, where the driver allows it (capabilities.overlappingClaims:
 * PostgreSQL), two claims of half the capacity each can be in flight at once
 * while the last answer was full: a fast drain otherwise spends most of its
 * time waiting for the next claim with nothing left to run. A short answer
 * (from whichever claim is the newest to answer) starts the polling wait.
 *
 * Outcomes go through a Completer that batches them. Cancellation requested by
 * another process is noticed by a periodic check of the running job ids.
 */
import type { ResolvedWorker } from "../config.ts";
import type { ClaimedJob } from "../records.ts";
import { JobCancelledError, ProcessPrunedError, safeErrorInfo } from "../errors.ts";
import { Completer } from "./completer.ts";
import type { RuntimeContext } from "./context.ts";
import { executeJob, failure, JobAbort, ShutdownSignal } from "./execute.ts";
import { IsolatePool } from "./isolate-pool.ts";
import { Runner } from "./runner.ts";
import { sleep, Waker, yieldToEventLoop } from "./sleep.ts";

const CANCEL_CHECK_MS = 1000;

export class Worker extends Runner {
  readonly #options: ResolvedWorker;
  readonly #waker: Waker;
  readonly #completer: Completer;
  readonly #inFlight = new Map<string, { abort: JobAbort; done: Promise<void> }>();
  readonly #mode: "async" | "worker";
  #pool: IsolatePool | null = null;
  /** While a reconciliation runs: the ids every claim answer delivered meanwhile. */
  #delivered: Set<string> | null = null;
  /** Claims in flight, and the slots they hold for the jobs they may bring. */
  readonly #claims = new Set<Promise<void>>();
  #reserved = 0;
  /**
   * The newest claim answered came back short: no claim before this time
   * unless a wake-up says jobs became claimable (an enqueue, a finished job).
   * Other wake-ups (a claim's answer) only make the loop check it again.
   */
  #idleUntil = 0;
  /** The newest claim answered came back full: a second claim may be pipelined (see #claimLimit). */
  #draining = false;
  /**
   * Counts the signals that jobs became claimable (an enqueue's wake-up, a
   * requeue). A claim that comes back short proves the queue empty only as of
   * its own snapshot: when a signal came while it was in flight, the loop
   * claims again at once instead of waiting a polling interval.
   */
  #work = 0;
  /**
   * Claims started so far, and the newest of them that answered: with two
   * claims pipelined, answers come back from the older one too, and an older
   * answer never overrides what a newer one said about the queue.
   */
  #started = 0;
  #answered = 0;
  /** Claims failed in a row, and when the next may start (backing off a failing database). */
  #failures = 0;
  #retryAt = 0;
  /** An error in handling a claim's answer, for the loop to throw. */
  #crash: unknown = null;
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
    this.#completer = new Completer(ctx, this.id, name, () => this.#newWork());
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
    const unsubscribe = this.ctx.wakeups.subscribe(this.#options.selectors, () => this.#newWork());
    const cancelCheck = setInterval(() => this.#checkCancels(), CANCEL_CHECK_MS);
    const reconcile = setInterval(() => this.#reconcile(), this.ctx.config.processHeartbeatIntervalMs);
    this.#crash = null;
    try {
      while (!this.stopSignal.aborted) {
        if (this.#crash !== null) throw this.#crash;
        this.#startBuffered();
        const backoff = this.#retryAt - Date.now();
        if (backoff > 0) {
          await sleep(backoff, this.stopSignal);
          continue;
        }
        const limit = this.#claimLimit();
        if (limit === 0) {
          // At capacity, or claims in flight: a finished job or a claim's answer wakes the loop.
          await this.#waker.wait(Infinity);
          continue;
        }
        const idle = this.#idleUntil - Date.now();
        if (idle > 0) {
          await this.#waker.wait(idle);
          continue;
        }
        this.#startClaim(limit);
        await yieldToEventLoop();
      }
    } finally {
      clearInterval(cancelCheck);
      clearInterval(reconcile);
      unsubscribe();
      // A claim still in flight brings jobs that must be released with the buffer at stop.
      await Promise.allSettled([...this.#claims]);
    }
  }

  #newWork(): void {
    this.#work++;
    this.#idleUntil = 0;
    this.#waker.wake();
  }

  /** How many jobs the next claim may ask for now; 0 when it must wait. */
  #claimLimit(): number {
    const { concurrency, prefetch } = this.#options;
    const capacity = concurrency + prefetch;
    const room = capacity - this.#inFlight.size - this.#buffer.length - this.#reserved;
    if (room <= 0) return 0;
    const pipelined = prefetch > 0 && this.ctx.driver.capabilities.overlappingClaims;
    const half = Math.ceil(capacity / 2);
    // Pipelined: a second claim of half the capacity while the first is in flight.
    // Only while draining: an idle worker's poll is one claim, not two.
    if (this.#claims.size > 0) {
      return pipelined && this.#draining && this.#claims.size === 1 && room >= half ? half : 0;
    }
    // With a buffer still over half full, wait for jobs to finish: fewer, bigger claims.
    if (prefetch > 0 && this.#buffer.length > prefetch / 2) return 0;
    return pipelined ? Math.min(room, half) : room;
  }

  /**
   * Starts a claim of up to `limit` jobs without waiting for it: its jobs join
   * the buffer when it answers. A claim that fails is reported and backed off
   * from; its slots are free again.
   */
  #startClaim(limit: number): void {
    this.#reserved += limit;
    const work = this.#work;
    const n = ++this.#started;
    const now = new Date();
    const claim = this.ctx.driver.jobClaim({
      backend: this.ctx.config.backend,
      processId: this.id,
      selectors: this.#options.selectors,
      limit,
      now,
    }).then(
      (claimed) => {
        this.#failures = 0;
        this.#retryAt = 0;
        try {
          this.#buffer.push(...claimed);
          if (this.#delivered) for (const job of claimed) this.#delivered.add(job.id);
          if (n > this.#answered) {
            this.#answered = n;
            this.#draining = claimed.length === limit;
            // Short proves the queue empty only as of this claim's snapshot: not when a wake-up came meanwhile.
            const empty = !this.#draining && this.#work === work;
            this.#idleUntil = empty ? Date.now() + this.#options.pollingIntervalMs : 0;
          }
        } catch (error) {
          // Not a failed claim but a broken answer: the loop rethrows it, and the runner restarts it.
          this.#crash ??= error;
        }
      },
      (error) => {
        this.#failures++;
        // Not so far that a recovered database waits long.
        this.#retryAt = Date.now() +
          Math.min(2000, this.#options.pollingIntervalMs * 2 ** Math.min(this.#failures, 10));
        this.ctx.reportError(error, { operation: "claim", processName: this.name });
      },
    ).finally(() => {
      this.#reserved -= limit;
      this.#claims.delete(claim);
      // After a stop the buffer is released, not started (see stop()).
      if (!this.stopSignal.aborted) this.#startBuffered();
      this.#waker.wake();
    });
    this.#claims.add(claim);
  }

  /** Starts buffered jobs while slots are free. */
  #startBuffered(): void {
    while (this.#buffer.length > 0 && this.#inFlight.size < this.#options.concurrency) {
      this.#launch(this.#buffer.shift()!);
    }
  }

  #launch(job: ClaimedJob): void {
    const abort = new JobAbort();
    this.ctx.running.set(job.id, abort);
    const pool = this.#pool;
    const run = pool ? (_payload: unknown, ctx: { signal: AbortSignal }) => pool.run(job, ctx.signal) : undefined;
    const settled = () => {
      this.#inFlight.delete(job.id);
      // A free slot ends an idle wait, as before the back-off: the worker claims for it at once.
      this.#idleUntil = 0;
      this.ctx.running.delete(job.id);
      // The next buffered job starts here, not in the loop, which may be waiting on a claim.
      if (!this.stopSignal.aborted) this.#startBuffered();
      this.#waker.wake();
    };
    const task = this.ctx.tasks.get(job.task);
    const done = executeJob(job, task, abort, run).then(
      (outcome) => {
        this.#completer.add({ ...outcome, claim: job.claim });
        settled();
      },
      (error) => {
        // executeJob always decides an outcome; should it ever fail to, the job still fails: a job with
        // no outcome stays claimed, is released by #reconcile and runs again with no attempt counted.
        this.#completer.add({ ...failure(job, task, error, Date.now), claim: job.claim });
        settled();
        this.ctx.reportError(error, { operation: "execute", processName: this.name, jobId: job.id });
      },
    );
    this.#inFlight.set(job.id, { abort, done });
  }

  /**
   * Claims this worker holds in the database but does not know about — a claim
   * that committed while its answer was lost to a dropped connection — go back
   * to ready. Claims may be in flight meanwhile (a busy worker nearly always has
   * one): every claim that started before the check's answer arrived is waited
   * for, and the jobs it brought count as known, so only rows no answer
   * delivered are released.
   */
  async #reconcile(): Promise<void> {
    if (this.#delivered !== null || this.stopSignal.aborted) return;
    const delivered = new Set<string>();
    this.#delivered = delivered;
    try {
      const knownBefore = this.#knownIds();
      const held = await this.ctx.driver.claimListHeld({ backend: this.ctx.config.backend, processId: this.id });
      // A claim that started before this answer may have committed rows it shows.
      await Promise.allSettled([...this.#claims]);
      if (this.stopSignal.aborted) return;
      const knownAfter = this.#knownIds();
      const lost = held.filter(({ id }) => !knownBefore.has(id) && !delivered.has(id) && !knownAfter.has(id));
      if (lost.length === 0) return;
      this.ctx.logger.warn(`${this.name}: releasing ${lost.length} claim(s) it did not know it held`, {
        lost: lost.map((c) => c.id),
      });
      for (const { id, attempt, startedAt } of lost) {
        this.#completer.add({ id, kind: "released", claim: { attempt, startedAt } });
      }
    } catch (error) {
      this.ctx.reportError(error, { operation: "reconcile claims", processName: this.name });
    } finally {
      this.#delivered = null;
    }
  }

  /** Jobs this worker knows it holds: running, buffered, or with an outcome not yet written. */
  #knownIds(): Set<string> {
    const known = this.#completer.unwrittenIds();
    for (const id of this.#inFlight.keys()) known.add(id);
    for (const job of this.#buffer) known.add(job.id);
    return known;
  }

  async #checkCancels(): Promise<void> {
    if (this.#inFlight.size === 0 && this.#buffer.length === 0) return;
    try {
      const ids = await this.ctx.driver.jobCancelRequested({
        backend: this.ctx.config.backend,
        ids: [...this.#inFlight.keys(), ...this.#buffer.map((j) => j.id)],
      });
      for (const id of ids) {
        this.#inFlight.get(id)?.abort.abort(new JobCancelledError(id));
        const at = this.#buffer.findIndex((j) => j.id === id);
        if (at !== -1) {
          const [job] = this.#buffer.splice(at, 1);
          const error = safeErrorInfo(new JobCancelledError(id));
          this.#completer.add({ id, kind: "cancelled", error, claim: job.claim });
        }
      }
    } catch (error) {
      this.ctx.reportError(error, { operation: "cancel check", processName: this.name });
    }
  }

  /**
   * The row was pruned, and its claims with it: the jobs buffered here may
   * already be running elsewhere (retried), so none of them starts, and those
   * running are aborted. Their outcomes are written as usual and ignored where
   * the recovery got there first.
   */
  protected override rowLost(): void {
    for (const job of this.#buffer.splice(0)) {
      this.#completer.add({ id: job.id, kind: "released", claim: job.claim });
    }
    for (const { abort } of this.#inFlight.values()) abort.abort(new ProcessPrunedError());
  }

  /** Waits for running jobs up to shutdownTimeout, then releases the rest back to ready. */
  protected override async windDown(immediate: boolean): Promise<void> {
    // Buffered jobs never started: back to ready at once, whatever the drain does.
    for (const job of this.#buffer.splice(0)) {
      this.#completer.add({ id: job.id, kind: "released", claim: job.claim });
    }
    const deadline = Date.now() + (immediate ? 0 : this.ctx.config.shutdownTimeoutMs);
    const all = () => Promise.all([...this.#inFlight.values()].map((f) => f.done));
    if (this.#inFlight.size > 0 && !immediate) {
      // The deadline's timer is cleared once the jobs are done: a pending timer would keep the process alive.
      const timer = new AbortController();
      await Promise.race([all(), sleep(Math.max(0, deadline - Date.now()), timer.signal)]);
      timer.abort();
    }
    for (const { abort } of this.#inFlight.values()) abort.abort(new ShutdownSignal());
    // Worker mode: each job's release waits until its isolate is done with it (see execute.ts). A graceful
    // stop gives aborted handlers the abort grace to see their signal; an immediate one terminates at once.
    const stopped = this.#pool?.stop(immediate ? 0 : this.ctx.config.isolateAbortGraceMs);
    await all();
    await stopped;
    await this.#completer.close(Date.now() + Math.max(5000, this.ctx.config.shutdownTimeoutMs));
  }
}
