/**
 * A dispatcher runner: promotes due scheduled jobs to ready, a batch at a time,
 * and runs concurrency maintenance (expired semaphores, blocked jobs whose
 * lease ran out) every concurrencyMaintenanceInterval.
 */
import type { ResolvedDispatcher } from "../config.ts";
import type { RuntimeContext } from "./context.ts";
import { Runner } from "./runner.ts";
import { sleep } from "./sleep.ts";

export class Dispatcher extends Runner {
  readonly #options: ResolvedDispatcher;
  #nextMaintenance = 0;

  constructor(ctx: RuntimeContext, options: ResolvedDispatcher, name: string, supervisorId: string | null) {
    super(ctx, "dispatcher", name, supervisorId);
    this.#options = options;
  }

  protected override metadata(): Record<string, unknown> {
    return { batchSize: this.#options.batchSize, pollingInterval: this.#options.pollingIntervalMs };
  }

  protected async run(): Promise<void> {
    while (!this.stopSignal.aborted) {
      await this.dispatchDue();
      if (this.#options.concurrencyMaintenance && Date.now() >= this.#nextMaintenance) {
        await this.maintainConcurrency();
        this.#nextMaintenance = Date.now() + this.#options.concurrencyMaintenanceIntervalMs;
      }
      await sleep(this.#options.pollingIntervalMs, this.stopSignal);
    }
  }

  /** Promotes everything due now, in batches; returns how many jobs became ready. */
  async dispatchDue(): Promise<number> {
    const { driver, config, wakeups } = this.ctx;
    let total = 0;
    try {
      while (!this.stopSignal.aborted) {
        const { count, queues } = await driver.jobPromoteDue({
          backend: config.backend,
          limit: this.#options.batchSize,
          now: new Date(),
        });
        total += count;
        wakeups.notify(queues);
        if (count < this.#options.batchSize) break;
      }
    } catch (error) {
      this.ctx.reportError(error, { operation: "dispatch", processName: this.name });
    }
    return total;
  }

  /** Expires stale semaphores and promotes blocked jobs that can get a slot; returns how many were promoted. */
  async maintainConcurrency(): Promise<number> {
    const { driver, config, wakeups } = this.ctx;
    let total = 0;
    try {
      while (!this.stopSignal.aborted) {
        const { promoted, expired, queues } = await driver.concurrencyMaintain({
          backend: config.backend,
          limit: this.#options.batchSize,
          now: new Date(),
        });
        total += promoted;
        wakeups.notify(queues);
        if (promoted < this.#options.batchSize && expired < this.#options.batchSize) break;
      }
    } catch (error) {
      this.ctx.reportError(error, { operation: "concurrency maintenance", processName: this.name });
    }
    return total;
  }
}
