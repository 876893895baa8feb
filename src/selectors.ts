import type { QueueSelector } from "./records.ts";
import { ConfigError } from "./errors.ts";
import { nameProblem } from "./validate.ts";

/** "*" selects every queue, "email*" every queue whose name starts with "email", anything else one queue. */
export function parseSelectors(queues: unknown[], key: string): QueueSelector[] {
  return queues.map((value: unknown, i) => {
    const problem = nameProblem(value);
    if (problem) {
      throw new ConfigError(`${key}[${i}]: ${JSON.stringify(value) ?? String(value)} is not a queue name or selector (it ${problem})`);
    }
    const q = value as string;
    if (q === "*") return { kind: "all" };
    const star = q.indexOf("*");
    if (star === -1) return { kind: "exact", queue: q };
    if (star !== q.length - 1) {
      throw new ConfigError(`${key}[${i}]: ${JSON.stringify(q)} has a "*" that is not at the end (only prefix selectors like "email*" are supported)`);
    }
    return { kind: "prefix", prefix: q.slice(0, -1) };
  });
}

/**
 * The index of the first selector that matches `queue` (selectors.length when
 * none does): a claim takes a queue's jobs in this rank, and a queue belongs to
 * the selectors that match it. Case-sensitive, like queue names.
 */
export function selectorRank(selectors: QueueSelector[], queue: string): number {
  for (let i = 0; i < selectors.length; i++) {
    const s = selectors[i];
    if (s.kind === "all" || (s.kind === "exact" ? s.queue === queue : queue.startsWith(s.prefix))) return i;
  }
  return selectors.length;
}

export function selectorMatches(selectors: QueueSelector[], queue: string): boolean {
  return selectorRank(selectors, queue) < selectors.length;
}
