import type { RecurringRecord } from "../../src/records.ts";
import type { SqlAccess } from "./access.ts";
import { toRecord } from "./recurring-rows.ts";

export async function recurringList(access: SqlAccess, p: { backend: string }): Promise<RecurringRecord[]> {
  const rows = await access.query(`SELECT * FROM stint_recurring_tasks WHERE backend = ? ORDER BY task_key`, [p.backend]);
  return rows.map(toRecord);
}
