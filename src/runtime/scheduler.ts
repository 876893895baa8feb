/**
 * The scheduler runner: fires recurring tasks and runs retention. A supervisor
 * starts one only when there is work for it (recurring tasks, dynamic tasks, or
 * a retention window) and not with `skipRecurring` or `only`.
 *
 *   start ─▶ sync static tasks (once; retried each poll until it succeeds)
 *              │
 *              ▼
 *   ┌─▶ fire due slots: reserve (backend, key, slot) ─▶ enqueue the slot's job
 *   │   retention, when its interval has passed (bounded batches)
 *   └── wait scheduler.pollingInterval (never a busy loop)
 *
 * Any number of schedulers may run over one database: each slot is reserved
 * before its job is enqueued, so it fires once.
 */
import type { ResolvedConfig } from "../config.ts";
import type { NewJob, RecurringRecord } from "../records.ts";
import { buildJob } from "../enqueue.ts";
import { newJobId } from "../ids.ts";
import { dueSlot, nextSlot } from "../recurring.ts";
import { retentionInterval, runRetention } from "../retention.ts";
import type { RuntimeContext } from "./context.ts";
import { Runner } from "./runner.ts";
import { sleep } from "./sleep.ts";

export class Scheduler extends Runner {
  #synced = false;
  #nextRetention = 0;

  constructor(ctx: RuntimeContext, name: string, supervisorId: string | null) {
    super(ctx, "scheduler", name, supervisorId);
  }

  /** Whether a supervisor with this config has work for a scheduler. */
  static needed(config: ResolvedConfig): boolean {
    return config.recurring.length > 0 || config.scheduler.dynamicTasks || config.preserveFinishedJobs ||
      config.clearFailedJobsAfterMs !== null || config.clearRecurringExecutionsAfterMs !== null;
  }

  protected override metadata(): Record<string, unknown> {
    const { scheduler, recurring } = this.ctx.config;
    return {
      pollingInterval: scheduler.pollingIntervalMs,
      dynamicTasks: scheduler.dynamicTasks,
      recurring: recurring.map((r) => r.key),
    };
  }

  protected async run(): Promise<void> {
    const { config } = this.ctx;
    while (!this.stopSignal.aborted) {
      if (!this.#synced) this.#synced = await this.syncStatic();
      if (this.#synced) await this.fireDue();
      if (Date.now() >= this.#nextRetention && !this.stopSignal.aborted) {
        await this.retain();
        this.#nextRetention = Date.now() + retentionInterval(config);
      }
      await sleep(config.scheduler.pollingIntervalMs, this.stopSignal);
    }
  }

  /** Makes the backend's static recurring rows match the options; true once done. */
  async syncStatic(): Promise<boolean> {
    const { driver, config } = this.ctx;
    const now = new Date();
    try {
      await driver.recurringSync({
        backend: config.backend,
        tasks: config.recurring,
        nextRunAt: new Map(config.recurring.map((d) => [d.key, nextSlot(d, now)])),
        now,
      });
      return true;
    } catch (error) {
      this.ctx.reportError(error, { operation: "recurring sync", processName: this.name });
      return false;
    }
  }

  /** Fires every due slot once; returns how many jobs this scheduler enqueued. */
  async fireDue(): Promise<number> {
    const { driver, config } = this.ctx;
    let fired = 0;
    try {
      const now = new Date();
      const due = await driver.recurringDue({ backend: config.backend, now, dynamic: config.scheduler.dynamicTasks });
      for (const task of due) {
        if (this.stopSignal.aborted) break;
        try {
          if (await this.#fire(task, now)) fired++;
        } catch (error) {
          this.ctx.reportError(error, { operation: `recurring ${task.key}`, processName: this.name });
        }
      }
    } catch (error) {
      this.ctx.reportError(error, { operation: "recurring", processName: this.name });
    }
    return fired;
  }

  async #fire(task: RecurringRecord, now: Date): Promise<boolean> {
    const { driver, config, tasks, wakeups } = this.ctx;
    const slot = dueSlot(task, task.nextRunAt!, now);
    let job: NewJob | null = null;
    try {
      job = buildJob(
        task.task,
        JSON.parse(task.payload),
        { queue: task.queue ?? undefined, priority: task.priority ?? undefined },
        tasks,
        now.getTime(),
        `recurring ${task.key}: `,
        config.defaultConcurrencyDurationMs,
      );
      job.scheduledAt = slot; // due at its slot: latency counts from there
    } catch (error) {
      // A task that can no longer be enqueued (say, no longer registered) skips
      // its slot rather than failing on every poll.
      this.ctx.reportError(error, { operation: `recurring ${task.key}`, processName: this.name });
    }
    const reservation = await driver.recurringReserve({
      backend: config.backend,
      key: task.key,
      runAt: slot,
      jobId: job?.id ?? newJobId(now.getTime()),
      now,
    });
    if (!reservation.pending) return false;
    if (job) job.id = reservation.jobId;
    const inserted = await driver.recurringEnqueue({
      backend: config.backend,
      key: task.key,
      runAt: slot,
      job,
      nextRunAt: nextSlot(task, slot),
      now,
    });
    if (inserted?.status === "ready") wakeups.notify([job!.queue]);
    return inserted !== null;
  }

  /** The configured retention, until no batch is full. */
  async retain(): Promise<void> {
    try {
      const counts = await runRetention(this.ctx.driver, this.ctx.config, this.stopSignal);
      if (counts.finished + counts.failed + counts.recurring > 0) {
        this.ctx.logger.debug("retention", { ...counts });
      }
    } catch (error) {
      this.ctx.reportError(error, { operation: "retention", processName: this.name });
    }
  }
}
