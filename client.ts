/**
 * `import { createClient } from "stint/client"`: enqueue by task name, read
 * results, cancel and count waiting jobs from an edge function (Cloudflare
 * Workers, Deno with network permission only), without the task code or the
 * runtime. This module's static imports reach no Worker, no node: module, no
 * runtime global and nothing of src/runtime/ (test/rules.test.ts walks them);
 * the driver for the URL, and its database client, load only when createClient
 * opens it (drivers/connect.ts).
 */
import { type ClientOptions, createClientFactory, type StintClient } from "./src/client/client.ts";
import { connect } from "./drivers/connect.ts";

/** Opens a client on the workers' database; the driver is picked by the URL's scheme. */
export const createClient: (options: ClientOptions) => Promise<StintClient> = createClientFactory({ connect });
export { StintClient } from "./src/client/client.ts";
export type { ClientBindings, ClientEnqueueItem, ClientEnqueueOptions, ClientOptions } from "./src/client/client.ts";
export type { QueueDepthOptions } from "./src/validate.ts";
export type { JobHandle, JobResult, JobStep } from "./src/result.ts";
export type { JobStatus, JobSummary } from "./src/records.ts";
export type { JobsOptions } from "./src/job-query.ts";
export type { Duration } from "./src/duration.ts";
export type { ConcurrencyOptions } from "./src/concurrency.ts";
export type { Driver } from "./src/driver.ts";
export {
  ConfigError,
  DriverError,
  EnqueueError,
  JobNotFoundError,
  NotMigratedError,
  StintClosedError,
  StintError,
} from "./src/errors.ts";
