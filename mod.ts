/**
 * Stint: a database-backed background job queue for Deno, Bun and Node.
 * This module is the public surface: re-exports, and the one place where the
 * core is bound to the drivers and the runtime adapters (the core never imports them).
 */
import { createStintFactory } from "./src/create.ts";
import type { Stint } from "./src/stint.ts";
import type { StintOptions } from "./src/config.ts";
import { connect } from "./drivers/connect.ts";
import { detectPlatform } from "./adapters/mod.ts";

/**
 * Creates a Stint instance. The driver is picked by the URL's scheme and its
 * database client loaded only then; the platform is the runtime's own.
 */
export const createStint: (options?: StintOptions) => Promise<Stint> = createStintFactory({ connect, platform: detectPlatform });
export { Stint } from "./src/stint.ts";
export type { EnqueueItem } from "./src/stint.ts";
export { defineTask } from "./src/task.ts";
export type { AnyTask, Task, TaskContext, TaskHandler, TaskOptions } from "./src/task.ts";
export type { RetryOptions } from "./src/retry.ts";
export type { EnqueueOptions } from "./src/enqueue.ts";
export type { JobHandle, JobResult, JobStep } from "./src/result.ts";
export type { QueueHandle } from "./src/queue.ts";
export type { StintOptions, WorkerOptions, DispatcherOptions, RuntimeErrorContext } from "./src/config.ts";
export type { Duration } from "./src/duration.ts";
export { parseDuration } from "./src/validate.ts";
export type { Driver } from "./src/driver.ts";
export type { DriverCapabilities, JobStatus, JobFilter } from "./src/records.ts";
export { Supervisor } from "./src/runtime/supervisor.ts";
export type { StartOptions } from "./src/validate.ts";
export type { HookEvent, HookFn, HookName } from "./src/runtime/hooks.ts";
export type { Logger } from "./src/log.ts";
export {
  ConfigError,
  DeadlineError,
  DriverError,
  EnqueueError,
  JobCancelledError,
  JobInterruptedError,
  JobNotFoundError,
  JobTimeoutError,
  KeyTakenError,
  NotMigratedError,
  ProcessExitError,
  ProcessMissingError,
  ProcessPrunedError,
  ResultError,
  StintClosedError,
  StintError,
  TransactionError,
  UndiscardableError,
  UnknownTaskError,
  WaitTimeoutError,
} from "./src/errors.ts";
export type { WaitOptions } from "./src/wait.ts";
export type { ListOptions, QueueDepthOptions } from "./src/validate.ts";
export type { JobsOptions } from "./src/job-query.ts";
export type { QueueStats, ProcessStats, Stats } from "./src/stats.ts";
export type { HealthReport } from "./src/health.ts";
export type { Platform } from "./src/platform.ts";
export type { OrphanClaim, ProcessRecord, JobSummary, QueueInfo } from "./src/records.ts";
export type { ConcurrencyOptions } from "./src/concurrency.ts";
export type { RecurringOptions, ScheduleOptions } from "./src/recurring.ts";
export type { ScheduledTask } from "./src/schedule.ts";
export type { PruneOptions, PruneResult } from "./src/retention.ts";
export type { RecurringStats, SemaphoreStats } from "./src/stats.ts";
export type { ConcurrencyPolicy, PruneCounts, RecurringRecord, SemaphoreRecord } from "./src/records.ts";
