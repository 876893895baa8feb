/**
 * The edge client (`stint/client`): enqueue, read results, find jobs by their
 * data, cancel and count waiting jobs by task name, from code that has no task
 * definitions and may have no Worker, no node: module and no runtime global
 * (Cloudflare Workers, Deno with network permission only, other edge
 * functions). It is the core's own job building, validation and driver calls
 * without the runtime: nothing here runs a job, so nothing here imports
 * src/runtime/ (test/rules.test.ts walks this module graph to hold that).
 * client.ts at the root binds the drivers to it, as mod.ts does for createStint.
 *
 * The client never migrates: the workers' deployment owns the tables, and a
 * client on a database without them meets NotMigratedError.
 */
import { cancelJob } from "../cancel.ts";
import { DEFAULT_CONCURRENCY_DURATION_MS } from "../concurrency.ts";
import { queueDepths } from "../depths.ts";
import type { ConnectOptions, Driver } from "../driver.ts";
import type { Duration } from "../duration.ts";
import { ConfigError, JobNotFoundError, StintClosedError } from "../errors.ts";
import { isJobId } from "../ids.ts";
import { checkJobsOptions, type JobsOptions } from "../job-query.ts";
import type { JobSummary } from "../records.ts";
import { handles, type JobHandle, type JobResult, toResult } from "../result.ts";
import { MAX_TIMER_MS } from "../timers.ts";
import { checkDatabaseUrl, configCheck, describe, type QueueDepthOptions } from "../validate.ts";
import { buildClientJob, buildClientJobs, type ClientEnqueueItem, type ClientEnqueueOptions } from "./jobs.ts";

export interface ClientOptions {
  /**
   * The workers' database: postgres(ql): for PostgreSQL, libsql: or http(s): or
   * ws(s): for a libSQL server, mysql: for MySQL/MariaDB. Which of these an edge
   * runtime can reach is in the README ("Enqueue from the edge").
   */
  url?: string;
  /** The workers' backend alias (default "default"). */
  backend?: string;
  /** Statement timeout for the client's statements (default 30s). */
  statementTimeout?: Duration;
  /** The lease a concurrency option without `duration` gets, as the workers' createStint has it (default 3m). */
  defaultConcurrencyDuration?: Duration;
  /** A driver instance instead of the one the URL picks; close() closes it. */
  driver?: Driver;
}

/** What createClient takes from outside the core. */
export interface ClientBindings {
  /** Opens a driver for a URL; loads its database client only then. */
  connect(options: ConnectOptions): Promise<Driver>;
}

const OPTION_KEYS = ["url", "backend", "statementTimeout", "defaultConcurrencyDuration", "driver"];

interface ResolvedClientOptions {
  url: string | null;
  backend: string;
  statementTimeoutMs: number;
  concurrencyDurationMs: number;
  driver: Driver | null;
}

function checkClientOptions(options: unknown): ResolvedClientOptions {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ConfigError(`createClient options must be an object like { url }, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new ConfigError(`createClient options: unknown option ${JSON.stringify(key)} (known: ${OPTION_KEYS.join(", ")})`);
    }
  }
  if (o.driver !== undefined && (o.driver === null || typeof (o.driver as Driver).jobInsertMany !== "function")) {
    throw new ConfigError(`driver: ${describe(o.driver)} is not valid (expected a Driver instance)`);
  }
  if (o.url === undefined && o.driver === undefined) {
    throw new ConfigError("url is missing: createClient({ url }) needs the workers' database URL");
  }
  const duration = (key: string, fallback: number, max: number) => {
    if (o[key] === undefined) return fallback;
    const ms = configCheck.duration(o[key], key);
    if (ms <= 0 || ms > max) {
      throw new ConfigError(`${key}: ${describe(o[key])} is not valid (expected a duration greater than zero, at most ${max} ms)`);
    }
    return ms;
  };
  return {
    url: o.url === undefined ? null : checkDatabaseUrl(o.url),
    backend: o.backend === undefined ? "default" : configCheck.name(o.backend, "backend"),
    statementTimeoutMs: duration("statementTimeout", 30_000, MAX_TIMER_MS),
    concurrencyDurationMs: duration("defaultConcurrencyDuration", DEFAULT_CONCURRENCY_DURATION_MS, Number.MAX_SAFE_INTEGER),
    driver: (o.driver as Driver | undefined) ?? null,
  };
}

function checkId(id: unknown): string {
  if (!isJobId(id)) throw new JobNotFoundError(String(id));
  return id;
}

/** createClient over the given bindings (client.ts exports it bound to the default drivers). */
export function createClientFactory(bindings: ClientBindings): (options: ClientOptions) => Promise<StintClient> {
  return async function createClient(options: ClientOptions): Promise<StintClient> {
    const o = checkClientOptions(options);
    // notify: a job made ready here wakes PostgreSQL workers at once (NOTIFY on commit); the client never listens.
    const driver = o.driver ?? await bindings.connect({ url: o.url!, statementTimeoutMs: o.statementTimeoutMs, notify: true });
    return new StintClient(driver, o.backend, o.concurrencyDurationMs);
  };
}

/**
 * One open connection (pool) to the workers' database. On Cloudflare Workers
 * a socket belongs to the request that opened it: create the client inside the
 * request and close it before the request ends (or in ctx.waitUntil).
 */
export class StintClient {
  readonly backend: string;
  readonly driver: Driver;
  readonly #concurrencyDurationMs: number;
  #closed = false;

  constructor(driver: Driver, backend: string, concurrencyDurationMs = DEFAULT_CONCURRENCY_DURATION_MS) {
    this.driver = driver;
    this.backend = backend;
    this.#concurrencyDurationMs = concurrencyDurationMs;
  }

  #open(method: string): void {
    if (this.#closed) throw new StintClosedError(`${method}() was called after close()`);
  }

  /**
   * Enqueues a job of the task named `task`. No task's defaults apply here: give
   * its queue, priority and concurrency in the options (src/client/jobs.ts).
   */
  async enqueue<P>(task: string, payload?: P, options?: ClientEnqueueOptions<P>): Promise<JobHandle> {
    this.#open("enqueue");
    // One clock read per enqueue: the job's id, its due time and the insert's `now` agree.
    const now = Date.now();
    const job = buildClientJob(task, payload, options, now, "", this.#concurrencyDurationMs);
    const [inserted] = handles(await this.driver.jobInsertMany({ backend: this.backend, jobs: [job], now: new Date(now), tx: options?.tx }));
    return inserted;
  }

  /** Enqueues many jobs in one transaction; any bad item throws before anything is written. */
  async enqueueAll(items: ClientEnqueueItem[]): Promise<JobHandle[]> {
    this.#open("enqueueAll");
    const now = Date.now();
    const jobs = buildClientJobs(items, now, this.#concurrencyDurationMs);
    if (jobs.length === 0) return [];
    return handles(await this.driver.jobInsertMany({ backend: this.backend, jobs, now: new Date(now) }));
  }

  /** The job's result and state; an unknown id throws JobNotFoundError. */
  async getResult<R = unknown, P = unknown>(id: string): Promise<JobResult<R, P>> {
    this.#open("getResult");
    const record = await this.driver.jobGet({ backend: this.backend, id: checkId(id) });
    if (!record) throw new JobNotFoundError(id);
    return toResult<R, P>(record);
  }

  /**
   * Jobs matching every filter given, newest first; `where` matches top-level
   * payload (or workspace) fields by JSON equality, as stint.jobs() does.
   */
  async jobs(options?: JobsOptions): Promise<JobSummary[]> {
    this.#open("jobs");
    return await this.driver.jobList({ backend: this.backend, ...checkJobsOptions(options) });
  }

  /**
   * Cancels a job. A waiting one is cancelled at once; a running one is flagged,
   * and the worker running it aborts its signal within about a second (the
   * handle says "running"). A parent's children that have not ended are cancelled with it.
   */
  async cancel(id: string): Promise<JobHandle> {
    this.#open("cancel");
    return await cancelJob(this.driver, this.backend, checkId(id));
  }


  /**
   * Jobs waiting to run (ready, scheduled, blocked) by queue; every queue asked
   * for is present, 0 included. `excludeFuture` leaves out jobs scheduled later than now.
   */
  async queueDepths(options?: QueueDepthOptions): Promise<Record<string, number>> {
    this.#open("queueDepths");
    return await queueDepths(this.driver, this.backend, options, new Date());
  }

  /** Closes the database client; every method refuses to run afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.driver.close();
  }
}

export type { ClientEnqueueItem, ClientEnqueueOptions };
