/**
 * Recurring tasks' rows, for the recurring* operations: definitions (static
 * from options, dynamic from schedule()) and firing.
 *
 * Firing a slot is two steps, so that any number of schedulers fire it once:
 *
 *   reserve (backend, key, run_at) ──new──▶ enqueue job (id recorded in the
 *        │                                   reservation) + advance the task
 *        └──already reserved, job not enqueued yet (its reserver stopped
 *           in between) ──▶ enqueue that job, with the recorded id
 *
 * The enqueue locks the task row and checks `last_run_at`, so two schedulers
 * that both see a pending reservation enqueue its job once. Reservations are
 * never deleted with their job, so a slot whose job ran and was cleaned up does
 * not fire again; retention removes them after clearRecurringExecutionsAfter.
 */
import type { RecurringDefinition, RecurringRecord } from "../../src/records.ts";
import { dateOrNull, num, numOrNull, type Row, type SqlRunner, str, strOrNull } from "./access.ts";

export const COLUMNS = [
  "backend", "task_key", "task", "cron", "time_zone", "payload", "queue", "priority", "description", "is_static",
  "next_run_at", "created_at", "updated_at",
];

export function toRecord(r: Row): RecurringRecord {
  return {
    key: str(r.task_key),
    task: str(r.task),
    cron: str(r.cron),
    timeZone: strOrNull(r.time_zone),
    payload: str(r.payload),
    queue: strOrNull(r.queue),
    priority: numOrNull(r.priority),
    description: strOrNull(r.description),
    static: num(r.is_static) === 1,
    lastRunAt: dateOrNull(r.last_run_at),
    nextRunAt: dateOrNull(r.next_run_at),
  };
}

export function sameDefinition(a: RecurringDefinition, b: RecurringDefinition): boolean {
  return a.task === b.task && a.cron === b.cron && a.timeZone === b.timeZone && a.payload === b.payload &&
    a.queue === b.queue && a.priority === b.priority && a.description === b.description;
}

export function rowParams(backend: string, d: RecurringDefinition, isStatic: boolean, next: Date | null, t: number) {
  return [
    backend, d.key, d.task, d.cron, d.timeZone, d.payload, d.queue, d.priority, d.description, isStatic ? 1 : 0,
    next?.getTime() ?? null, t, t,
  ];
}

/** Rewrites a row's definition; its next slot moves only when its schedule changed. */
export async function updateDefinition(
  q: SqlRunner,
  backend: string,
  old: RecurringRecord,
  d: RecurringDefinition,
  isStatic: boolean,
  next: Date | null,
  t: number,
): Promise<void> {
  const moved = old.cron !== d.cron || old.timeZone !== d.timeZone || old.nextRunAt === null;
  await q.run(
    `UPDATE stint_recurring_tasks SET task = ?, cron = ?, time_zone = ?, payload = ?, queue = ?, priority = ?,
       description = ?, is_static = ?, next_run_at = ?, updated_at = ? WHERE backend = ? AND task_key = ?`,
    [
      d.task, d.cron, d.timeZone, d.payload, d.queue, d.priority, d.description, isStatic ? 1 : 0,
      moved ? next?.getTime() ?? null : old.nextRunAt!.getTime(), t, backend, d.key,
    ],
  );
}
