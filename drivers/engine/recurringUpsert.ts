import type { RecurringDefinition } from "../../src/records.ts";
import type { SqlAccess } from "./access.ts";
import { COLUMNS, rowParams, toRecord, updateDefinition } from "./recurring-rows.ts";

export function recurringUpsert(
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
