/**
 * schedule(): creating or updating a dynamic recurring task. Apart from
 * recurring.ts (definitions and slot arithmetic), which config.ts reads.
 */
import type { ResolvedConfig } from "./config.ts";
import type { Driver } from "./driver.ts";
import { ConfigError } from "./errors.ts";
import { checkRecurringTask, nextSlot, parseRecurring, type ScheduleOptions } from "./recurring.ts";
import type { Task } from "./task.ts";

/** What schedule() reports. */
export interface ScheduledTask {
  key: string;
  /** False when an existing dynamic task of that key was updated. */
  created: boolean;
  nextRunAt: Date | null;
}

/**
 * Creates or updates a dynamic recurring task. Everything is checked before
 * anything is written: the scheduler.dynamicTasks switch, the cron, the task
 * name, and that the key is not a static task's.
 */
export async function scheduleTask(
  driver: Driver,
  config: ResolvedConfig,
  tasks: Map<string, Task>,
  options: ScheduleOptions,
): Promise<ScheduledTask> {
  if (!config.scheduler.dynamicTasks) {
    throw new ConfigError("schedule(): dynamic recurring tasks are off; enable them with scheduler: { dynamicTasks: true }");
  }
  if (options === null || typeof options !== "object") {
    throw new ConfigError("schedule() takes { key, task, cron, payload?, queue?, priority?, description?, timeZone? }");
  }
  const def = parseRecurring(options.key, options, "schedule");
  checkRecurringTask(def, tasks, "schedule");
  if (config.recurring.some((r) => r.key === def.key)) {
    throw new ConfigError(`schedule(): ${JSON.stringify(def.key)} is a static recurring task; change it in the recurring option`);
  }
  const now = new Date();
  const nextRunAt = nextSlot(def, now);
  const result = await driver.recurringUpsert({ backend: config.backend, task: def, nextRunAt, now });
  if (result === "static") {
    throw new ConfigError(`schedule(): ${JSON.stringify(def.key)} is a static recurring task (from another instance's options)`);
  }
  return { key: def.key, created: result === "inserted", nextRunAt };
}
