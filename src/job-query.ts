/**
 * `stint.jobs({ task, queue, status, parentId, where, limit, before })`: the
 * checks on a query for jobs by their data (DESIGN §10), turned into the
 * driver's JobQuery. Like listJobs' options, a bad value is a ConfigError
 * naming it, and no statement runs.
 *
 * `where` matches top-level fields of the payload (of the current workspace
 * for a multi-step job) by JSON equality; the driver compares JSON texts, so
 * each value is checked to round-trip through JSON and sent as its text.
 */
import { ConfigError } from "./errors.ts";
import { isJobId } from "./ids.ts";
import { hasUnstorable, jsonProblem } from "./json.ts";
import type { JobQuery, JobStatus } from "./records.ts";
import { configCheck, describe, JOB_STATUSES, MAX_LIST_LIMIT, MAX_NAME_LENGTH } from "./validate.ts";

export interface JobsOptions {
  task?: string;
  queue?: string;
  status?: JobStatus;
  /** Only the children of this job (those it spawned with ctx.spawn). */
  parentId?: string;
  /** Top-level payload (or workspace) fields and the values they must equal: `{ userId: 7 }`. */
  where?: Record<string, unknown>;
  /** 1 to 1000, default 50. */
  limit?: number;
  /** Pages by id: only jobs older than this one. */
  before?: string;
}

/** More fields than this would make one statement with a condition per field; no real filter needs them. */
export const MAX_WHERE_FIELDS = 20;

const KEYS = ["task", "queue", "status", "parentId", "where", "limit", "before"];

export function checkJobsOptions(options: unknown): JobQuery {
  if (options === undefined) return { limit: 50 };
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ConfigError(`jobs options must be an object like { task, where: { userId: 7 } }, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) throw new ConfigError(`jobs: unknown option ${JSON.stringify(key)} (known: ${KEYS.join(", ")})`);
  }
  const query: JobQuery = { limit: 50 };
  if (o.limit !== undefined) {
    if (typeof o.limit !== "number" || !Number.isInteger(o.limit) || o.limit < 1 || o.limit > MAX_LIST_LIMIT) {
      throw new ConfigError(`jobs limit: ${describe(o.limit)} is not valid (expected an integer from 1 to ${MAX_LIST_LIMIT})`);
    }
    query.limit = o.limit;
  }
  if (o.status !== undefined) {
    if (!JOB_STATUSES.has(o.status as JobStatus)) {
      throw new ConfigError(`jobs status: ${describe(o.status)} is not a job status (one of ${[...JOB_STATUSES].join(", ")})`);
    }
    query.status = o.status as JobStatus;
  }
  if (o.task !== undefined) query.task = configCheck.name(o.task, "jobs task");
  if (o.queue !== undefined) query.queue = configCheck.name(o.queue, "jobs queue");
  for (const key of ["parentId", "before"] as const) {
    if (o[key] === undefined) continue;
    if (!isJobId(o[key])) throw new ConfigError(`jobs ${key}: ${describe(o[key])} is not a job id`);
    query[key] = o[key];
  }
  if (o.where !== undefined) query.where = whereTexts(o.where);
  return query;
}

/** `where` as field name → JSON text. */
function whereTexts(where: unknown): Record<string, string> {
  if (where === null || typeof where !== "object" || Array.isArray(where)) {
    throw new ConfigError(`jobs where must be an object of field values like { userId: 7 }, got ${describe(where)}`);
  }
  const proto = Object.getPrototypeOf(where);
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(where).length > 0) {
    throw new ConfigError("jobs where must be a plain object of field values like { userId: 7 }");
  }
  const fields = Object.entries(where);
  if (fields.length > MAX_WHERE_FIELDS) {
    throw new ConfigError(`jobs where: ${fields.length} fields is too many (at most ${MAX_WHERE_FIELDS})`);
  }
  const texts: Record<string, string> = {};
  for (const [field, value] of fields) {
    // A field name travels to the database as text, where a NUL or a lone surrogate cannot (see hasUnstorable).
    if (field.length === 0 || field.length > MAX_NAME_LENGTH || hasUnstorable(field)) {
      throw new ConfigError(
        `jobs where: the field name ${describe(field.slice(0, 60))} is not valid ` +
          `(a non-empty string of at most ${MAX_NAME_LENGTH} characters, without NUL or lone surrogates)`,
      );
    }
    const problem = jsonProblem(value, `where[${JSON.stringify(field)}]`);
    if (problem) throw new ConfigError(`jobs ${problem}`);
    texts[field] = JSON.stringify(value);
  }
  return texts;
}
