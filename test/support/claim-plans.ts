/**
 * The claim-plan tests of the shared engine (libSQL, MySQL): selector lists of
 * every kind, and for each the SELECT of every arm its claim reads
 * (drivers/engine/jobClaim.ts), to EXPLAIN with [backend, ...params, limit].
 */
import type { QueueSelector } from "../../src/records.ts";
import type { Param } from "../../drivers/engine/access.ts";
import { pickSql } from "../../drivers/engine/jobClaim.ts";
import type { PrefixMatch } from "../../drivers/engine/access.ts";
import { armWhere, selectorArms } from "../../drivers/engine/selectors.ts";

export const PLAN_SELECTOR_LISTS: QueueSelector[][] = [
  [{ kind: "exact", queue: "mail" }],
  [{ kind: "all" }],
  [{ kind: "exact", queue: "urgent" }, { kind: "exact", queue: "mail" }],
  [{ kind: "exact", queue: "urgent" }, { kind: "prefix", prefix: "ma" }, { kind: "all" }],
];

export function armPicks(prefixMatch: PrefixMatch, lockSuffix: string): Array<{ label: string; sql: string; params: Param[] }> {
  return PLAN_SELECTOR_LISTS.flatMap((selectors) =>
    selectorArms(selectors, prefixMatch).map((arm) => {
      const where = armWhere(arm);
      return {
        label: `${JSON.stringify(arm.selector)} of ${JSON.stringify(selectors)}`,
        sql: pickSql(where.sql, lockSuffix),
        params: where.params,
      };
    })
  );
}
