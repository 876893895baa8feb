/**
 * What every runner (supervisor, worker, dispatcher, scheduler) has in common:
 * a process row it registers and heartbeats, a stop signal, and hooks.
 *
 *   new ──start()──▶ running ──stop()──▶ stopping ──▶ stopped
 *                     │     ▲             (heartbeats go on until the
 *          row deleted└─────┘ registers    drain is over and the row goes)
 *                             again
 *
 * A row deleted under a live runner (pruned by another supervisor after an
 * outage longer than processAliveThreshold) is registered again, under the
 * same id: the runner is running, and a runner without a row claims nothing.
 * Its claims went with the row (the pruner fails or retries those jobs), so a
 * worker first aborts the jobs it runs and drops those it had not started.
 *
 * A supervisor's runners keep their rows (and heartbeats) until the whole
 * supervisor has stopped: its row goes first, then theirs (release()).
 *
 * Registry statements carry a deadline (the heartbeat interval, within 1-5 s):
 * while the database is unreachable a query can wait out the pool's reconnect
 * back-off, and a stop must not wait for it. One heartbeat at a time, so
 * beats do not pile up behind an unreachable server.
 */
import { DeadlineError } from "../errors.ts";
import type { HookKind } from "./hooks.ts";
import type { RuntimeContext } from "./context.ts";
import { sleep } from "./sleep.ts";

/** Resolves or rejects with `work`, or rejects with a DeadlineError after `ms`; the timer never outlives it. */
export function withDeadline<T>(work: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(operation, ms)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export abstract class Runner {
  readonly id: string = crypto.randomUUID();
  readonly kind: HookKind;
  readonly name: string;
  protected readonly ctx: RuntimeContext;
  protected readonly stopController: AbortController = new AbortController();
  readonly #supervisorId: string | null;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #beating: Promise<void> | null = null;
  /** A re-registration still in flight (its deadline may have passed, not the statement). */
  #registering: Promise<void> | null = null;
  #loop: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #releasing: Promise<void> | null = null;

  constructor(ctx: RuntimeContext, kind: HookKind, name: string, supervisorId: string | null) {
    this.ctx = ctx;
    this.kind = kind;
    this.name = name;
    this.#supervisorId = supervisorId;
  }

  get stopSignal(): AbortSignal {
    return this.stopController.signal;
  }

  protected metadata(): Record<string, unknown> {
    return {};
  }

  /** The runner's work; returns when the stop signal aborts. */
  protected abstract run(): Promise<void>;

  /** Called after run() returns, before the row goes: drain, release, flush. */
  protected async windDown(_immediate: boolean): Promise<void> {}

  /**
   * Called when a heartbeat finds this runner's row gone, before it registers
   * again: whoever deleted it also took every claim the row held (and fails
   * or retries those jobs), so work done under them must stop here.
   */
  protected rowLost(): void {}

  /** How long a registry statement may take before the runtime moves on. */
  get #deadlineMs(): number {
    return Math.min(5000, Math.max(1000, this.ctx.config.processHeartbeatIntervalMs));
  }

  #register(): Promise<void> {
    const { driver, config, platform } = this.ctx;
    return driver.processRegister({
      backend: config.backend,
      id: this.id,
      info: {
        kind: this.kind,
        name: this.name,
        pid: platform?.pid ?? null,
        hostname: platform?.hostname() ?? null,
        // pidNamespace: whether this row's pid can be probed from another process of the host (recovery.ts)
        metadata: { ...this.metadata(), pidNamespace: platform?.pidNamespace?.() ?? null },
        supervisorId: this.#supervisorId,
      },
      now: new Date(),
    });
  }

  async start(): Promise<void> {
    await this.#register();
    this.#heartbeat = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => (this.#beating = null));
    }, this.ctx.config.processHeartbeatIntervalMs);
    await this.ctx.hooks.emit({ name: `${this.kind}.start`, kind: this.kind, processName: this.name, processId: this.id });
    this.#loop = this.#supervise();
  }

  /**
   * Runs the loop, and runs it again if it crashes: at once the first time,
   * then after 100 ms doubling to 30 s, the count reset after a minute of
   * uptime, never after a stop. A crash fires the `<kind>.exit` hook.
   */
  async #supervise(): Promise<void> {
    let crashes = 0;
    while (!this.stopSignal.aborted) {
      const started = Date.now();
      try {
        await this.run();
        if (this.stopSignal.aborted) return;
        throw new Error(`the ${this.kind} loop returned without a stop`);
      } catch (error) {
        if (this.stopSignal.aborted) return;
        this.ctx.reportError(error, { operation: `${this.kind} loop`, processName: this.name });
        await this.ctx.hooks.emit({ name: `${this.kind}.exit`, kind: this.kind, processName: this.name, processId: this.id, error });
        crashes = Date.now() - started > 60_000 ? 1 : crashes + 1;
        await sleep(crashes <= 1 ? 0 : Math.min(30_000, 100 * 2 ** (crashes - 2)), this.stopSignal);
      }
    }
  }

  async #beat(): Promise<void> {
    const { driver, config } = this.ctx;
    try {
      const beat = driver.processHeartbeat({ backend: config.backend, id: this.id, now: new Date() });
      if (await withDeadline(beat, this.#deadlineMs, "heartbeat")) return;
      this.ctx.logger.warn(`${this.name}: its process row was deleted while it runs (pruned?); registering again`);
      this.rowLost();
      const registering = this.#register();
      this.#registering = registering;
      void registering.finally(() => {
        if (this.#registering === registering) this.#registering = null;
      }).catch(() => {});
      await withDeadline(registering, this.#deadlineMs, "registration");
    } catch (error) {
      this.ctx.reportError(error, { operation: "heartbeat", processName: this.name });
    }
  }

  /** Stops the runner; `immediate` skips the drain. Safe to call more than once. */
  stop(immediate = false): Promise<void> {
    if (!this.#stopping) this.#stopping = this.#stop(immediate);
    return this.#stopping;
  }

  async #stop(immediate: boolean): Promise<void> {
    this.stopController.abort();
    try {
      await this.#loop;
      await this.windDown(immediate);
    } finally {
      // A supervisor's runner keeps its row until the supervisor lets go of them all (afterRelease): a
      // dispatcher done early must not look missing to health() while a worker still drains.
      if (this.#supervisorId === null) await this.release();
    }
  }

  /**
   * Ends the heartbeats and deletes the row, then fires the stop hook. Heartbeats
   * ran through the drain: a long drain is not pruned while its jobs still run.
   */
  release(): Promise<void> {
    this.#releasing ??= this.#release();
    return this.#releasing;
  }

  async #release(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.#beating; // a registration in flight must not land after the deregistration
    const deregister = () => this.ctx.driver.processDeregister({ backend: this.ctx.config.backend, id: this.id });
    try {
      await withDeadline(deregister(), this.#deadlineMs, "deregistration");
    } catch (error) {
      this.ctx.reportError(error, { operation: "deregister", processName: this.name });
    }
    // A registration that outlived its deadline may still land after the row went: remove it again then.
    void this.#registering?.then(deregister, () => {}).catch((error) => {
      this.ctx.reportError(error, { operation: "deregister", processName: this.name });
    });
    try {
      await this.afterRelease();
    } finally {
      await this.ctx.hooks.emit({ name: `${this.kind}.stop`, kind: this.kind, processName: this.name, processId: this.id });
    }
  }

  /** After this runner's row went, before its stop hook (a supervisor releases its runners here). */
  protected async afterRelease(): Promise<void> {}
}
