/**
 * Recurring task definitions: checked once (at createStint for the `recurring`
 * option, at schedule() for dynamic ones) with croner parsing the cron, and the
 * slot arithmetic the scheduler fires by. Slots come from the cron alone, so
 * every scheduler computes the same instants and the database reservation of
 * (backend, key, slot) makes each fire once.
 */
import { Cron } from "croner";
import type { RecurringDefinition } from "./records.ts";
import { ConfigError } from "./errors.ts";
import { jsonProblem } from "./json.ts";
import { type AnyTask, isTask, type Task } from "./task.ts";
import { configCheck, describe } from "./validate.ts";

/** One recurring task, as given in `recurring: { key: {...} }` or to schedule(). */
export interface RecurringOptions {
  /** A task or its name. */
  task: AnyTask | string;
  /** Five fields (minute resolution), six (seconds first) or seven (years last), or "@daily" and friends. */
  cron: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  description?: string;
  /** IANA time zone the cron is read in, e.g. "Europe/Stockholm"; default UTC. */
  timeZone?: string;
}

export interface ScheduleOptions extends RecurringOptions {
  key: string;
}

const FIELDS = ["task", "cron", "payload", "queue", "priority", "description", "timeZone"];
const CRON_SHAPE = /^(@[a-z]+|\S+(\s+\S+){4,6})$/i;
const cache = new Map<string, Cron>();

/** A paused croner instance for the pattern (never runs anything itself); throws ConfigError when invalid. */
export function compileCron(cron: unknown, timeZone: string | null, what: string): Cron {
  const id = `${timeZone ?? ""}\u0000${String(cron)}`;
  const hit = cache.get(id);
  if (hit) return hit;
  if (typeof cron !== "string" || !CRON_SHAPE.test(cron.trim())) {
    throw new ConfigError(`${what}.cron: ${describe(cron)} is not a cron expression (five, six or seven fields, or a nickname like "@daily")`);
  }
  let compiled: Cron;
  let next: Date | null;
  try {
    compiled = new Cron(cron.trim(), { paused: true, timezone: timeZone ?? "UTC" });
    next = compiled.nextRun(); // an unknown time zone only shows here
  } catch (error) {
    throw new ConfigError(`${what}: ${JSON.stringify(cron)}${timeZone ? ` in ${timeZone}` : ""} is not valid: ${(error as Error).message}`);
  }
  if (next === null) throw new ConfigError(`${what}.cron: ${JSON.stringify(cron)} never fires again`);
  if (cache.size > 1000) cache.clear();
  cache.set(id, compiled);
  return compiled;
}

/** Checks one definition and turns it into what the driver stores. */
export function parseRecurring(key: unknown, value: unknown, what: string): RecurringDefinition {
  configCheck.name(key, `${what} key`);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`${what}: ${describe(value)} is not valid (expected { task, cron, payload?, queue?, priority?, description?, timeZone? })`);
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!FIELDS.includes(k) && !(k === "key" && what.startsWith("schedule"))) {
      throw new ConfigError(`${what}: unknown option ${JSON.stringify(k)} (known: ${FIELDS.join(", ")})`);
    }
  }
  const task = isTask(o.task) ? o.task.name : configCheck.name(o.task, `${what}.task`);
  let timeZone: string | null = null;
  if (o.timeZone !== undefined) timeZone = configCheck.name(o.timeZone, `${what}.timeZone`);
  compileCron(o.cron, timeZone, what);
  const payload = o.payload === undefined ? null : o.payload;
  const problem = jsonProblem(payload, `${what}.payload`);
  if (problem) throw new ConfigError(problem);
  if (o.description !== undefined && typeof o.description !== "string") {
    throw new ConfigError(`${what}.description: ${describe(o.description)} is not a string`);
  }
  return {
    key: key as string,
    task,
    cron: (o.cron as string).trim(),
    timeZone,
    payload: JSON.stringify(payload),
    queue: o.queue === undefined ? null : configCheck.name(o.queue, `${what}.queue`),
    priority: o.priority === undefined ? null : configCheck.priority(o.priority, `${what}.priority`),
    description: (o.description as string | undefined) ?? null,
  };
}

/** The `recurring` option: a record of key → definition. */
export function resolveRecurring(value: unknown): RecurringDefinition[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`recurring: ${describe(value)} is not valid (expected { key: { task, cron, ... } })`);
  }
  return Object.entries(value as Record<string, unknown>).map(([key, def]) => parseRecurring(key, def, `recurring.${key}`));
}

/**
 * A task name must be registered, once any tasks are (an instance without tasks
 * may refer to tasks it does not load, as enqueue by name does).
 */
export function checkRecurringTask(def: RecurringDefinition, tasks: Map<string, Task>, what: string): void {
  if (tasks.size > 0 && !tasks.has(def.task)) {
    throw new ConfigError(
      `${what}.task: unknown task ${JSON.stringify(def.task)} (registered: ${[...tasks.keys()].sort().join(", ")})`,
    );
  }
}

/** The first slot strictly after `after`, or null when the cron never fires again. */
export function nextSlot(def: Pick<RecurringDefinition, "cron" | "timeZone">, after: Date): Date | null {
  return compileCron(def.cron, def.timeZone, "recurring").nextRun(after);
}

/**
 * The slot to fire for a task whose next slot `nextRunAt` is due: that slot, or,
 * when later ones are due too (no scheduler ran for a while), only the latest
 * of them — missed slots are not fired one after another.
 */
export function dueSlot(def: Pick<RecurringDefinition, "cron" | "timeZone">, nextRunAt: Date, now: Date): Date {
  const cron = compileCron(def.cron, def.timeZone, "recurring");
  const following = cron.nextRun(nextRunAt);
  if (following === null || following.getTime() > now.getTime()) return nextRunAt;
  const [latest] = cron.previousRuns(1, now);
  return latest && latest.getTime() > nextRunAt.getTime() && latest.getTime() <= now.getTime() ? latest : following;
}
