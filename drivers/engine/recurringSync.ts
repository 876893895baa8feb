import type { RecurringDefinition } from "../../src/records.ts";
import { placeholders, type SqlAccess, str } from "./access.ts";
import { COLUMNS, rowParams, sameDefinition, toRecord, updateDefinition } from "./recurring-rows.ts";

export function recurringSync(
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
