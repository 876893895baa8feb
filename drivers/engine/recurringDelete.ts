import type { SqlAccess } from "./access.ts";

export function recurringDelete(access: SqlAccess, p: { backend: string; key: string }): Promise<number> {
  return access.run(`DELETE FROM stint_recurring_tasks WHERE backend = ? AND task_key = ? AND is_static = 0`, [
    p.backend,
    p.key,
  ]);
}
