/** The failed jobs an operator action (retry, discard) applies to: by ids, or by filter a batch at a time. */
import type { JobFilter } from "../../src/records.ts";
import { type Param, placeholders, type SqlAccess, type SqlRunner } from "./access.ts";

/** Jobs per transaction of an operator action. */
export const BATCH = 500;

function filterSql(filter: JobFilter | undefined): { sql: string; params: Param[] } {
  let sql = "";
  const params: Param[] = [];
  if (filter?.queue !== undefined) {
    sql += " AND j.queue = ?";
    params.push(filter.queue);
  }
  if (filter?.task !== undefined) {
    sql += " AND j.task = ?";
    params.push(filter.task);
  }
  return { sql, params };
}

/**
 * Failed job ids of this backend, by explicit ids or by filter, a batch at a
 * time (past `after`, when given: jobs an action left failed are not met again).
 */
export function selectFailed(
  q: SqlRunner,
  access: SqlAccess,
  backend: string,
  ids: string[] | undefined,
  filter?: JobFilter,
  after?: string,
) {
  if (ids) {
    return q.query(
      `SELECT f.job_id FROM stint_failed_executions f WHERE f.backend = ? AND f.job_id IN (${
        placeholders(ids.length)
      }) ${access.lockSuffix}`,
      [backend, ...ids],
    );
  }
  const f = filterSql(filter);
  return q.query(
    `SELECT f.job_id FROM stint_failed_executions f JOIN stint_jobs j ON j.id = f.job_id
     WHERE f.backend = ?${f.sql}${after === undefined ? "" : " AND f.job_id > ?"} ORDER BY f.job_id LIMIT ${BATCH} ${access.lockSuffix}`,
    after === undefined ? [backend, ...f.params] : [backend, ...f.params, after],
  );
}
