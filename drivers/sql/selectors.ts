import type { QueueSelector } from "../../src/driver.ts";
import type { Param } from "./access.ts";

/**
 * Turns queue selectors into a WHERE condition and an ORDER BY rank, so that
 * selector order beats priority across selectors while jobs within one
 * selector go by priority, then age. A prefix is compared with SUBSTR, not
 * LIKE: SQLite's LIKE ignores ASCII case (so "mail*" would take "MAILER"), and
 * SUBSTR needs no wildcard escaping. The length is in characters (code
 * points), as SUBSTR counts in every dialect. Selectors after a "*" can never
 * match first, so they are dropped.
 */
export function selectorSql(
  selectors: QueueSelector[],
  column: string,
): { where: string; whereParams: Param[]; rank: string | null; rankParams: Param[] } {
  const firstAll = selectors.findIndex((s) => s.kind === "all");
  const used = firstAll === -1 ? selectors : selectors.slice(0, firstAll + 1);
  const conditions: Array<string | null> = [];
  const params: Param[] = [];
  for (const selector of used) {
    if (selector.kind === "all") {
      conditions.push(null);
    } else if (selector.kind === "exact") {
      conditions.push(`${column} = ?`);
      params.push(selector.queue);
    } else {
      conditions.push(`SUBSTR(${column}, 1, ?) = ?`);
      params.push([...selector.prefix].length, selector.prefix);
    }
  }
  const matchesAll = firstAll !== -1;
  const where = matchesAll ? "1 = 1" : `(${conditions.join(" OR ")})`;
  const whereParams = matchesAll ? [] : params;
  if (used.length === 1) return { where, whereParams, rank: null, rankParams: [] };
  const whens = conditions.map((c, i) => (c === null ? `ELSE ${i}` : `WHEN ${c} THEN ${i}`));
  const rank = `CASE ${whens.join(" ")}${matchesAll ? "" : ` ELSE ${used.length}`} END`;
  return { where, whereParams, rank, rankParams: params };
}

/** The rank a claimed queue got, for ordering a claim's results the same way in code. */
export function selectorRank(selectors: QueueSelector[], queue: string): number {
  for (let i = 0; i < selectors.length; i++) {
    const s = selectors[i];
    if (s.kind === "all") return i;
    if (s.kind === "exact" && s.queue === queue) return i;
    if (s.kind === "prefix" && queue.startsWith(s.prefix)) return i;
  }
  return selectors.length;
}
