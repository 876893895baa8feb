import type { RecurringRecord } from "../../src/records.ts";
import type { SqlAccess } from "./access.ts";
import { toRecord } from "./recurring-rows.ts";

export async function recurringDue(
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
