/**
 * Checks for the options of Stint's inspection and bulk methods: each bad value
 * is a ConfigError naming it, before any statement runs.
 */
import type { JobFilter, JobStatus } from "./records.ts";
import { describe, type Duration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { isJobId } from "./ids.ts";
import { checkName } from "./task.ts";

export const JOB_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  "scheduled", "ready", "blocked", "running", "succeeded", "failed", "discarded", "cancelled",
]);

export const MAX_LIST_LIMIT = 1000;

export interface ListOptions {
  queue?: string;
  limit?: number;
  before?: string;
}

function knownKeys(value: unknown, what: string, keys: string[], example: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`${what} must be an object like ${example}, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new ConfigError(`${what}: unknown option ${JSON.stringify(key)} (known: ${keys.join(", ")})`);
  }
  return value as Record<string, unknown>;
}

export function checkListArgs(status: unknown, options: unknown): { status: JobStatus } & Required<Pick<ListOptions, "limit">> & ListOptions {
  if (!JOB_STATUSES.has(status as JobStatus)) {
    throw new ConfigError(`listJobs: ${describe(status)} is not a job status (one of ${[...JOB_STATUSES].join(", ")})`);
  }
  const o = knownKeys(options, "listJobs options", ["queue", "limit", "before"], "{ queue, limit, before }");
  const limit = o.limit ?? 50;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new ConfigError(`listJobs limit: ${describe(limit)} is not valid (expected an integer from 1 to ${MAX_LIST_LIMIT})`);
  }
  if (o.before !== undefined && !isJobId(o.before)) throw new ConfigError(`listJobs before: ${describe(o.before)} is not a job id`);
  return {
    status: status as JobStatus,
    limit,
    queue: o.queue === undefined ? undefined : checkName(o.queue, "listJobs queue", ConfigError),
    before: o.before as string | undefined,
  };
}

export function checkHealthOptions(options: unknown): { maxAge?: Duration } {
  return knownKeys(options, "health options", ["maxAge"], '{ maxAge: "5m" }') as { maxAge?: Duration };
}

export function checkFilter(filter: unknown): JobFilter {
  const f = knownKeys(filter, "filter", ["queue", "task"], "{ queue, task }") as JobFilter;
  if (f.queue !== undefined) checkName(f.queue, "filter.queue", ConfigError);
  if (f.task !== undefined) checkName(f.task, "filter.task", ConfigError);
  return f;
}
