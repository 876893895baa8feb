/**
 * Retention: how old finished jobs, failed jobs and recurring reservations may
 * get. `stint.prune()` deletes one bounded batch of each and says when a batch
 * was full; the scheduler runs batches until none is, on its own interval.
 * Always scoped by backend.
 */
import type { ResolvedConfig } from "./config.ts";
import type { Driver } from "./driver.ts";
import type { PruneCounts } from "./records.ts";
import type { Duration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { isTask, type Task } from "./task.ts";
import { configCheck } from "./validate.ts";

export interface PruneOptions {
  /** Succeeded, discarded and cancelled jobs finished longer ago; default clearFinishedJobsAfter. */
  finishedOlderThan?: Duration;
  /** Failed jobs; default clearFailedJobsAfter (none when unset). */
  failedOlderThan?: Duration;
  /** Recurring slot reservations; default clearRecurringExecutionsAfter (none when unset). */
  recurringOlderThan?: Duration;
  /** Only jobs of this task (finished and failed). */
  task?: Task | string;
  /** Only reservations of this recurring task key. */
  taskKey?: string;
  /** At most this many rows of each kind per call (default 500). */
  batchSize?: number;
}

export type PruneResult = PruneCounts;

export const DEFAULT_PRUNE_BATCH = 500;
const KEYS = ["finishedOlderThan", "failedOlderThan", "recurringOlderThan", "task", "taskKey", "batchSize"];

type PruneParams = Parameters<Driver["retentionPrune"]>[0];

function cutoff(value: Duration | undefined, fallbackMs: number | null, what: string, now: number): Date | null {
  const ms = value === undefined ? fallbackMs : configCheck.duration(value, `prune.${what}`);
  return ms === null ? null : new Date(now - ms);
}

/**
 * The driver's parameters for a prune: when no window is given, the configured
 * ones apply (finished always, failed and recurring when configured).
 */
export function pruneParams(options: PruneOptions, config: ResolvedConfig, now: number): PruneParams {
  if (options === null || typeof options !== "object") throw new ConfigError("prune options must be an object");
  for (const k of Object.keys(options)) {
    if (!KEYS.includes(k)) throw new ConfigError(`prune: unknown option ${JSON.stringify(k)} (known: ${KEYS.join(", ")})`);
  }
  const batchSize = options.batchSize ?? DEFAULT_PRUNE_BATCH;
  if (typeof batchSize !== "number" || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new ConfigError(`prune.batchSize: ${JSON.stringify(batchSize)} is not valid (expected an integer from 1 to 100000)`);
  }
  const anyWindow = options.finishedOlderThan !== undefined || options.failedOlderThan !== undefined ||
    options.recurringOlderThan !== undefined;
  const task = options.task === undefined
    ? undefined
    : isTask(options.task)
    ? options.task.name
    : configCheck.name(options.task, "prune.task");
  const taskKey = options.taskKey === undefined ? undefined : configCheck.name(options.taskKey, "prune.taskKey");
  return {
    backend: config.backend,
    finishedBefore: cutoff(options.finishedOlderThan, anyWindow ? null : config.clearFinishedJobsAfterMs, "finishedOlderThan", now),
    failedBefore: cutoff(options.failedOlderThan, anyWindow ? null : config.clearFailedJobsAfterMs, "failedOlderThan", now),
    recurringBefore: cutoff(
      options.recurringOlderThan,
      anyWindow ? null : config.clearRecurringExecutionsAfterMs,
      "recurringOlderThan",
      now,
    ),
    task,
    taskKey,
    batchSize,
  };
}

/** The configured retention, in batches until none is full (or `maxBatches`); returns the totals. */
export async function runRetention(
  driver: Driver,
  config: ResolvedConfig,
  signal: AbortSignal,
  maxBatches = 200,
): Promise<PruneCounts> {
  const params = pruneParams({}, config, Date.now());
  const total: PruneCounts = { finished: 0, failed: 0, recurring: 0, limitReached: false };
  for (let i = 0; i < maxBatches && !signal.aborted; i++) {
    const counts = await driver.retentionPrune(params);
    total.finished += counts.finished;
    total.failed += counts.failed;
    total.recurring += counts.recurring;
    total.limitReached = counts.limitReached;
    if (!counts.limitReached) break;
  }
  return total;
}

/** How often the scheduler runs retention: a tenth of the shortest window, within [pollingInterval, 5 min]. */
export function retentionInterval(config: ResolvedConfig): number {
  const windows = [config.clearFinishedJobsAfterMs, config.clearFailedJobsAfterMs, config.clearRecurringExecutionsAfterMs]
    .filter((w): w is number => w !== null);
  const shortest = Math.min(...windows);
  return Math.min(300_000, Math.max(config.scheduler.pollingIntervalMs, Math.floor(shortest / 10)));
}
