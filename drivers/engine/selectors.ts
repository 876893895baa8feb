/**
 * The SQL side of queue selectors: a claim's condition per selector. Parsing
 * and matching in code (the rank a claimed queue got) are src/selectors.ts's.
 */
import type { QueueSelector } from "../../src/records.ts";
import type { Condition, PrefixMatch } from "./access.ts";

/**
 * SUBSTR, not LIKE: SQLite's LIKE ignores ASCII case (so "mail*" would take
 * "MAILER"), and SUBSTR needs no wildcard escaping. The length is in
 * characters (code points), as SUBSTR counts in every dialect.
 */
export const substrPrefix: PrefixMatch = (prefix) => ({
  sql: "SUBSTR(r.queue, 1, ?) = ?",
  params: [[...prefix].length, prefix],
});

/**
 * LIKE with the wildcards escaped, for dialects where it is case-sensitive
 * (MySQL's binary collation, PostgreSQL), so that an index range can serve it.
 */
export const likePrefix: PrefixMatch = (prefix) => ({
  sql: "r.queue LIKE ? ESCAPE '!'",
  params: [prefix.replace(/[!%_]/g, (c) => `!${c}`) + "%"],
});

/** One selector's share of a claim: its own condition (null for "*") and the earlier ones it leaves alone. */
export interface Arm {
  selector: QueueSelector;
  own: Condition | null;
  earlier: Condition[];
}

/**
 * A claim reads selector by selector: each selector's rows in (priority, age)
 * order, down an index, stopping when the claim has enough. A queue belongs to
 * the first selector that matches it, so each arm excludes what earlier arms
 * match (rows a claim has locked itself are not skipped by SKIP LOCKED and
 * would come back twice). Selectors after a "*" can never match first, so
 * they are dropped. (One ORDER BY over a rank expression instead sorted every
 * matching ready row on each claim.)
 */
export function selectorArms(selectors: QueueSelector[], prefixMatch: PrefixMatch): Arm[] {
  const firstAll = selectors.findIndex((s) => s.kind === "all");
  const used = firstAll === -1 ? selectors : selectors.slice(0, firstAll + 1);
  const arms: Arm[] = [];
  const earlier: Condition[] = [];
  for (const selector of used) {
    const own = selector.kind === "all"
      ? null
      : selector.kind === "exact"
      ? { sql: "r.queue = ?", params: [selector.queue] }
      : prefixMatch(selector.prefix);
    arms.push({ selector, own, earlier: [...earlier] });
    if (own) earlier.push(own);
  }
  return arms;
}

/** An arm's condition: its own, and none of the earlier ones. */
export function armWhere(arm: Arm): Condition {
  const parts = [arm.own?.sql ?? "1 = 1", ...arm.earlier.map((c) => `NOT (${c.sql})`)];
  return { sql: parts.join(" AND "), params: [...(arm.own?.params ?? []), ...arm.earlier.flatMap((c) => c.params)] };
}
