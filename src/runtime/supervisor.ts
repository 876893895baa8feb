/**
 * The supervisor: registers its own process row, starts the worker and
 * dispatcher runners of the config under it, and stops them together. A
 * standalone supervisor also owns SIGTERM/SIGINT (graceful) and SIGQUIT
 * (immediate); an embedded one installs no handlers.
 */
import type { StartOptions } from "../validate.ts";
import { acquirePidfile } from "./pidfile.ts";
import { deadOnThisHost, recoverClaims } from "./recovery.ts";
import type { RuntimeContext } from "./context.ts";
import { Dispatcher } from "./dispatcher.ts";
import { Runner } from "./runner.ts";
import { Scheduler } from "./scheduler.ts";
import { sleep } from "./sleep.ts";
import { Worker } from "./worker.ts";

export class Supervisor extends Runner {
  readonly #options: StartOptions;
  readonly #children: Runner[] = [];
  #removeSignals: Array<() => void> = [];
  #releasePidfile: (() => Promise<void>) | null = null;
  #maintenance: ReturnType<typeof setInterval> | undefined;
  #maintaining: Promise<void> | null = null;
  #unlisten: (() => Promise<void>) | null = null;
  #resolveStopped!: () => void;
  /** Resolves once every runner has stopped and its process row is gone. */
  readonly stopped: Promise<void> = new Promise((resolve) => (this.#resolveStopped = resolve));

  constructor(ctx: RuntimeContext, options: StartOptions) {
    const host = ctx.platform ? `${ctx.platform.hostname()}-${ctx.platform.pid}` : "embedded";
    super(ctx, "supervisor", `supervisor-${host}-${crypto.randomUUID().slice(0, 8)}`, null);
    this.#options = options;
  }

  /**
   * `runners` names the runners this supervisor starts, so that health() can
   * tell a supervisor that lost one (its row gone and not back) from a healthy one.
   */
  protected override metadata(): Record<string, unknown> {
    return { mode: this.#options.mode ?? "async", only: this.#options.only ?? null, runners: this.#runnerNames() };
  }

  /** The names start() gives its runners, in the same order. */
  #runnerNames(): string[] {
    const { config } = this.ctx;
    const names: string[] = [];
    if (this.#options.only !== "dispatch") config.workers.forEach((_, i) => names.push(`worker-${i + 1}`));
    if (this.#options.only !== "work") config.dispatchers.forEach((_, i) => names.push(`dispatcher-${i + 1}`));
    if (this.#options.only === undefined && !this.#options.skipRecurring && Scheduler.needed(config)) {
      names.push("scheduler");
    }
    return names;
  }

  get workers(): Worker[] {
    return this.#children.filter((c): c is Worker => c instanceof Worker);
  }

  get dispatchers(): Dispatcher[] {
    return this.#children.filter((c): c is Dispatcher => c instanceof Dispatcher);
  }

  override async start(): Promise<void> {
    const { config, platform } = this.ctx;
    if (this.#options.standalone && config.supervisorPidfile && platform) {
      this.#releasePidfile = await acquirePidfile(platform, config.supervisorPidfile);
    }
    try {
      await super.start();
    } catch (error) {
      await this.#releasePidfile?.();
      throw error;
    }
    try {
      // Before any runner claims: claims left by dead processes are failed (or retried).
      await this.#maintain(true);
      // One pass at a time: while the database is unreachable, passes would queue up behind each other.
      this.#maintenance = setInterval(() => {
        this.#maintaining ??= this.#maintain().finally(() => (this.#maintaining = null));
      }, config.processHeartbeatIntervalMs);
      if (this.#options.only !== "dispatch") {
        const mode = this.#options.mode ?? "async";
        config.workers.forEach((w, i) => this.#children.push(new Worker(this.ctx, w, `worker-${i + 1}`, this.id, mode)));
      }
      if (this.#options.only !== "work") {
        config.dispatchers.forEach((d, i) => this.#children.push(new Dispatcher(this.ctx, d, `dispatcher-${i + 1}`, this.id)));
      }
      if (this.#options.only === undefined && !this.#options.skipRecurring && Scheduler.needed(config)) {
        this.#children.push(new Scheduler(this.ctx, "scheduler", this.id));
      }
      for (const child of this.#children) await child.start();
      await this.#listen();
    } catch (error) {
      await this.stop(true);
      throw error;
    }
    if (this.#options.standalone && platform) {
      this.#removeSignals = [
        platform.onSignal("SIGTERM", () => void this.stop()),
        platform.onSignal("SIGINT", () => void this.stop()),
        platform.onSignal("SIGQUIT", () => void this.stop(true)),
      ];
    }
  }

  /** Cross-process wake-ups where the database has them (PostgreSQL NOTIFY); polling stays the correctness path. */
  async #listen(): Promise<void> {
    const { driver, config, wakeups } = this.ctx;
    if (!config.listenNotify || !driver.listen || this.#options.only === "dispatch") return;
    try {
      this.#unlisten = await driver.listen({ backend: config.backend, onWake: (queues) => wakeups.notify(queues) });
    } catch (error) {
      this.ctx.reportError(error, { operation: "listen", processName: this.name });
    }
  }

  /**
   * Recovery. Never prunes this supervisor or its live runners (after an outage
   * longer than processAliveThreshold their rows are stale, yet they run); at
   * start, also the rows of this host whose pid is gone (a restarted supervisor
   * recovers its predecessor's claims at once).
   */
  async #maintain(atStart = false): Promise<void> {
    try {
      const keep = [this.id, ...this.#children.filter((c) => !c.stopSignal.aborted).map((c) => c.id)];
      await recoverClaims(this.ctx, keep, atStart ? await deadOnThisHost(this.ctx) : []);
    } catch (error) {
      this.ctx.reportError(error, { operation: "process maintenance", processName: this.name });
    }
  }

  protected async run(): Promise<void> {
    await sleep(Infinity, this.stopSignal);
  }

  protected override async windDown(immediate: boolean): Promise<void> {
    clearInterval(this.#maintenance);
    await this.#unlisten?.().catch((error) => this.ctx.reportError(error, { operation: "unlisten", processName: this.name }));
    try {
      await Promise.all(this.#children.map((c) => c.stop(immediate)));
    } finally {
      for (const remove of this.#removeSignals) remove();
      this.#removeSignals = [];
      await this.#releasePidfile?.().catch((error) => this.ctx.reportError(error, { operation: "pidfile" }));
    }
  }

  /**
   * Its runners' rows go after its own: until then they heartbeat, and once its
   * row is gone health() no longer counts them under a live supervisor.
   */
  protected override async afterRelease(): Promise<void> {
    await Promise.all(this.#children.map((c) => c.release()));
  }

  override async stop(immediate = false): Promise<void> {
    await super.stop(immediate);
    this.#resolveStopped();
  }
}
