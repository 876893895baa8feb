/**
 * Recurring tasks: definitions (static from options, dynamic from schedule()),
 * and firing, shared by every SQL driver.
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
import type { InsertedJob, NewJob, RecurringDefinition, RecurringRecord } from "../../src/records.ts";
import { dateOrNull, num, numOrNull, placeholders, type Row, type SqlAccess, type SqlRunner, str, strOrNull } from "./access.ts";
import { insertJobs } from "./jobs.ts";

const COLUMNS = [
  "backend", "task_key", "task", "cron", "time_zone", "payload", "queue", "priority", "description", "is_static",
  "next_run_at", "created_at", "updated_at",
];

function toRecord(r: Row): RecurringRecord {
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

function sameDefinition(a: RecurringDefinition, b: RecurringDefinition): boolean {
  return a.task === b.task && a.cron === b.cron && a.timeZone === b.timeZone && a.payload === b.payload &&
    a.queue === b.queue && a.priority === b.priority && a.description === b.description;
}

function rowParams(backend: string, d: RecurringDefinition, isStatic: boolean, next: Date | null, t: number) {
  return [
    backend, d.key, d.task, d.cron, d.timeZone, d.payload, d.queue, d.priority, d.description, isStatic ? 1 : 0,
    next?.getTime() ?? null, t, t,
  ];
}

/** Rewrites a row's definition; its next slot moves only when its schedule changed. */
async function updateDefinition(
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

export function syncRecurring(
  access: SqlAccess,
  p: { backend: string; tasks: RecurringDefinition[]; nextRunAt: Map<string, Date | null>; now: Date },
): Promise<{ inserted: number; updated: number; deleted: number }> {
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const rows = await q.query(`SELECT * FROM stint_recurring_tasks WHERE backend = ?`, [p.backend]);
    const existing = new Map(rows.map((r) => [str(r.task_key), toRecord(r)]));
    let inserted = 0;
    let updated = 0;
    for (const d of p.tasks) {
      const old = existing.get(d.key);
      const next = p.nextRunAt.get(d.key) ?? null;
      if (!old) {
        inserted += await q.run(access.insertIgnore("stint_recurring_tasks", COLUMNS, 1), rowParams(p.backend, d, true, next, t));
      } else if (!old.static || !sameDefinition(old, d)) {
        await updateDefinition(q, p.backend, old, d, true, next, t);
        updated++;
      }
    }
    const keep = new Set(p.tasks.map((d) => d.key));
    const gone = [...existing.values()].filter((r) => r.static && !keep.has(r.key)).map((r) => r.key);
    let deleted = 0;
    if (gone.length > 0) {
      deleted = await q.run(
        `DELETE FROM stint_recurring_tasks WHERE backend = ? AND is_static = 1 AND task_key IN (${placeholders(gone.length)})`,
        [p.backend, ...gone],
      );
    }
    return { inserted, updated, deleted };
  });
}

export function upsertRecurring(
  access: SqlAccess,
  p: { backend: string; task: RecurringDefinition; nextRunAt: Date | null; now: Date },
): Promise<"inserted" | "updated" | "static"> {
  const t = p.now.getTime();
  return access.transaction(async (q) => {
    const select = () => q.query(`SELECT * FROM stint_recurring_tasks WHERE backend = ? AND task_key = ?`, [p.backend, p.task.key]);
    let rows = await select();
    if (rows.length === 0) {
      const params = rowParams(p.backend, p.task, false, p.nextRunAt, t);
      if (await q.run(access.insertIgnore("stint_recurring_tasks", COLUMNS, 1), params) === 1) return "inserted";
      rows = await select();
    }
    const old = toRecord(rows[0]);
    if (old.static) return "static";
    await updateDefinition(q, p.backend, old, p.task, false, p.nextRunAt, t);
    return "updated";
  });
}

export function deleteRecurring(access: SqlAccess, p: { backend: string; key: string }): Promise<number> {
  return access.run(`DELETE FROM stint_recurring_tasks WHERE backend = ? AND task_key = ? AND is_static = 0`, [
    p.backend,
    p.key,
  ]);
}

export async function listRecurring(access: SqlAccess, p: { backend: string }): Promise<RecurringRecord[]> {
  const rows = await access.query(`SELECT * FROM stint_recurring_tasks WHERE backend = ? ORDER BY task_key`, [p.backend]);
  return rows.map(toRecord);
}

export async function dueRecurring(
  access: SqlAccess,
  p: { backend: string; now: Date; dynamic: boolean },
): Promise<RecurringRecord[]> {
  const rows = await access.query(
    `SELECT * FROM stint_recurring_tasks WHERE backend = ? AND next_run_at IS NOT NULL AND next_run_at <= ?${
      p.dynamic ? "" : " AND is_static = 1"
    } ORDER BY next_run_at, task_key`,
    [p.backend, p.now.getTime()],
  );
  return rows.map(toRecord);
}

export async function reserveSlot(
  access: SqlAccess,
  p: { backend: string; key: string; runAt: Date; jobId: string; now: Date },
): Promise<{ jobId: string; pending: boolean }> {
  const runAt = p.runAt.getTime();
  const insert = access.insertIgnore("stint_recurring_executions", ["backend", "task_key", "run_at", "job_id", "created_at"], 1);
  if (await access.run(insert, [p.backend, p.key, runAt, p.jobId, p.now.getTime()]) === 1) {
    return { jobId: p.jobId, pending: true };
  }
  const rows = await access.query(
    `SELECT e.job_id, t.last_run_at, (SELECT COUNT(*) FROM stint_jobs j WHERE j.id = e.job_id) AS jobs
     FROM stint_recurring_executions e
     LEFT JOIN stint_recurring_tasks t ON t.backend = e.backend AND t.task_key = e.task_key
     WHERE e.backend = ? AND e.task_key = ? AND e.run_at = ?`,
    [p.backend, p.key, runAt],
  );
  if (rows.length === 0) return { jobId: p.jobId, pending: false }; // cleaned up meanwhile: long past
  const r = rows[0];
  const last = numOrNull(r.last_run_at);
  return { jobId: str(r.job_id), pending: num(r.jobs) === 0 && (last === null || last < runAt) };
}

export function enqueueSlot(
  access: SqlAccess,
  p: { backend: string; key: string; runAt: Date; job: NewJob | null; nextRunAt: Date | null; now: Date },
): Promise<InsertedJob | null> {
  const t = p.now.getTime();
  const runAt = p.runAt.getTime();
  return access.transaction(async (q) => {
    // The UPDATE locks the task row: whoever comes second sees last_run_at moved.
    await q.run(`UPDATE stint_recurring_tasks SET updated_at = ? WHERE backend = ? AND task_key = ?`, [t, p.backend, p.key]);
    const rows = await q.query(
      `SELECT last_run_at, next_run_at FROM stint_recurring_tasks WHERE backend = ? AND task_key = ?`,
      [p.backend, p.key],
    );
    if (rows.length === 0) return null;
    const last = numOrNull(rows[0].last_run_at);
    if (last !== null && last >= runAt) return null;
    let inserted: InsertedJob | null = null;
    if (p.job) {
      const exists = await q.query(`SELECT id FROM stint_jobs WHERE id = ?`, [p.job.id]);
      if (exists.length === 0) [inserted] = await insertJobs(q, p.backend, [p.job], p.now, access);
    }
    const current = numOrNull(rows[0].next_run_at);
    const next = current === null || current <= runAt ? p.nextRunAt?.getTime() ?? null : current;
    await q.run(
      `UPDATE stint_recurring_tasks SET last_run_at = ?, next_run_at = ?, updated_at = ? WHERE backend = ? AND task_key = ?`,
      [runAt, next, t, p.backend, p.key],
    );
    return inserted;
  });
}
