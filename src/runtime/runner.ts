/**
 * What every runner (supervisor, worker, dispatcher, scheduler) has in common:
 * a process row it registers and heartbeats, a stop signal, and hooks.
 *
 *   new ──start()──▶ running ──stop()──▶ stopping ──▶ stopped
 *                       │                   ▲
 *                       └─ row deleted ─────┘  (the runner stops itself)
 */
import type { HookKind } from "./hooks.ts";
import type { RuntimeContext } from "./context.ts";
import { sleep } from "./sleep.ts";

export abstract class Runner {
  readonly id: string = crypto.randomUUID();
  readonly kind: HookKind;
  readonly name: string;
  protected readonly ctx: RuntimeContext;
  protected readonly stopController: AbortController = new AbortController();
  readonly #supervisorId: string | null;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #loop: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;

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

  async start(): Promise<void> {
    const { driver, config, platform } = this.ctx;
    await driver.processRegister({
      backend: config.backend,
      id: this.id,
      info: {
        kind: this.kind,
        name: this.name,
        pid: platform?.pid ?? null,
        hostname: platform?.hostname() ?? null,
        metadata: this.metadata(),
        supervisorId: this.#supervisorId,
      },
      now: new Date(),
    });
    this.#heartbeat = setInterval(() => this.#beat(), config.processHeartbeatIntervalMs);
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
    try {
      const alive = await this.ctx.driver.processHeartbeat({ backend: this.ctx.config.backend, id: this.id, now: new Date() });
      // A beat that lands after our own deregistration (during stop) is not news.
      if (!alive && !this.stopSignal.aborted) {
        this.ctx.logger.warn(`${this.name}: its process row was deleted; stopping`);
        void this.stop();
      }
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
    clearInterval(this.#heartbeat);
    await this.#loop;
    try {
      await this.windDown(immediate);
    } finally {
      try {
        await this.ctx.driver.processDeregister({ backend: this.ctx.config.backend, id: this.id });
      } catch (error) {
        this.ctx.reportError(error, { operation: "deregister", processName: this.name });
      }
      await this.ctx.hooks.emit({ name: `${this.kind}.stop`, kind: this.kind, processName: this.name, processId: this.id });
    }
  }
}
