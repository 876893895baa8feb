/**
 * A worker runner: claims ready jobs and runs them. This file wires the parts:
 *
 *   wake-ups ─▶ ClaimPipeline ──claimed jobs──▶ Slots ──job──▶ Executor ──outcome──▶ Completer ─▶ jobFinishMany
 *               (claims.ts)  ◀──a slot is free── (slots.ts)    (executor.ts)          (completer.ts)
 *                   ▲                                                                       │
 *                   └─────────── written: requeued or promoted jobs are claimable ──────────┘
 *
 *   Watchers (watchers.ts), on timers: cancel checks, and reconciliation with
 *   the claims the database says this worker holds.
 *
 * The executor is chosen here once, by mode (async: inline; worker: isolates).
 * Outcomes go through a Completer that batches them.
 */
import type { ResolvedWorker } from "../config.ts";
import { ProcessPrunedError, ShutdownSignal } from "../errors.ts";
import { ClaimPipeline } from "./claims.ts";
import { Completer } from "./completer.ts";
import type { RuntimeContext } from "./context.ts";
import { type Executor, inlineExecutor, isolateExecutor } from "./executor.ts";
import { Runner } from "./runner.ts";
import { Slots } from "./slots.ts";
import { StartWindow } from "./start-window.ts";
import { Watchers } from "./watchers.ts";

export class Worker extends Runner {
  readonly #options: ResolvedWorker;
  readonly #mode: "async" | "worker";
  readonly #executor: Executor;
  readonly #completer: Completer;
  readonly #slots: Slots;
  readonly #claims: ClaimPipeline;
  readonly #watchers: Watchers;

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
    const processId = this.id;
    const stopSignal = this.stopSignal;
    this.#executor = mode === "worker"
      ? isolateExecutor(ctx, { name, processId, isolates: options.isolates })
      : inlineExecutor(ctx, { name, processId });
    this.#completer = new Completer(ctx, processId, name, () => this.#claims.newWork());
    const rate = options.rateLimit;
    const startWindow = rate === null ? null : new StartWindow(rate.limit, rate.perMs);
    this.#slots = new Slots(ctx, {
      concurrency: options.concurrency,
      startWindow,
      processName: name,
      executor: this.#executor,
      completer: this.#completer,
      stopSignal,
      freed: () => this.#claims.slotFreed(),
    });
    this.#claims = new ClaimPipeline(ctx, {
      processId,
      processName: name,
      worker: options,
      slots: this.#slots,
      startWindow,
      stopSignal,
      delivered: (jobs) => this.#watchers.delivered(jobs),
    });
    this.#watchers = new Watchers(ctx, {
      processId,
      processName: name,
      slots: this.#slots,
      completer: this.#completer,
      stopSignal,
      claimsSettled: () => this.#claims.settled(),
    });
  }

  protected override metadata(): Record<string, unknown> {
    const isolates = this.#mode === "worker" ? this.#options.isolates : 0;
    return { queues: this.#options.queues, concurrency: this.#options.concurrency, mode: this.#mode, isolates };
  }

  /** In worker mode, the isolates are up (each has imported the tasks module) before the first claim. */
  override async start(): Promise<void> {
    await this.#executor.start();
    try {
      await super.start();
    } catch (error) {
      void this.#executor.stop(0);
      throw error;
    }
  }

  /** Live isolates (worker mode); 0 in async mode. */
  get isolatesAlive(): number {
    return this.#executor.isolatesAlive;
  }

  get inFlight(): number {
    return this.#slots.inFlight.size;
  }

  protected async run(): Promise<void> {
    const unsubscribe = this.ctx.wakeups.subscribe(this.#options.selectors, () => this.#claims.newWork());
    const stopWatching = this.#watchers.start();
    try {
      await this.#claims.run();
    } finally {
      stopWatching();
      unsubscribe();
      // A claim still in flight brings jobs that must be released with the buffer at stop.
      await this.#claims.settled();
    }
  }

  /**
   * The row was pruned, and its claims with it: the jobs buffered here may
   * already be running elsewhere (retried), so none of them starts, and those
   * running are aborted. Their outcomes are written as usual and ignored where
   * the recovery got there first (which failed the at-most-once ones, started
   * or not: it cannot tell).
   */
  protected override rowLost(): void {
    this.#slots.releaseBuffered();
    this.#slots.abortRunning(new ProcessPrunedError());
  }

  /**
   * Waits for running jobs up to shutdownTimeout, then releases the rest back
   * to ready; at-most-once ones have started, so they fail with
   * JobInterruptedError instead (execute.ts).
   */
  protected override async windDown(immediate: boolean): Promise<void> {
    // Buffered jobs never started: back to ready at once, whatever the drain does.
    this.#slots.releaseBuffered();
    if (!immediate) await this.#slots.drain(this.ctx.config.shutdownTimeoutMs);
    this.#slots.abortRunning(new ShutdownSignal());
    // Worker mode: each job's release waits until its isolate is done with it (see execute.ts). A graceful
    // stop gives aborted handlers the abort grace to see their signal; an immediate one terminates at once.
    const stopped = this.#executor.stop(immediate ? 0 : this.ctx.config.isolateAbortGraceMs);
    await this.#slots.done();
    await stopped;
    await this.#completer.close(Date.now() + Math.max(5000, this.ctx.config.shutdownTimeoutMs));
  }
}
