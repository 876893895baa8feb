/** A dispatcher runner: promotes due scheduled jobs to ready, a batch at a time. */
import type { ResolvedDispatcher } from "../config.ts";
import type { RuntimeContext } from "./context.ts";
import { Runner } from "./runner.ts";
import { sleep } from "./sleep.ts";

export class Dispatcher extends Runner {
  readonly #options: ResolvedDispatcher;

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
      await sleep(this.#options.pollingIntervalMs, this.stopSignal);
    }
  }

  /** Promotes everything due now, in batches; returns how many jobs became ready. */
  async dispatchDue(): Promise<number> {
    const { driver, config, wakeups } = this.ctx;
    let total = 0;
    try {
      while (!this.stopSignal.aborted) {
        const { count, queues } = await driver.jobsPromoteDue({
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
}
