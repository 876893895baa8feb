/**
 * Keeping statements under the server's max_allowed_packet.
 *
 * A statement longer than max_allowed_packet (16 MB on MariaDB, 64 MB on
 * MySQL 8 by default) is refused and its connection dropped. The shared engine
 * batches 500 rows per statement, which large payloads can push past the limit,
 * and a finish batch that can never be written would keep its jobs claimed for
 * good. So inserts and finishes are split into groups that fit, a single
 * payload that cannot fit is an EnqueueError (nothing written), and a return
 * value that cannot fit fails its job, as any unstorable return value does.
 *
 * Sizes are counted in UTF-16 code units against a budget of an eighth of the
 * packet: up to 3 UTF-8 bytes a unit, times 2 for the client's escaping, with
 * room to spare for the other columns.
 */
import type { NewJob, Outcome } from "../../src/records.ts";
import { EnqueueError } from "../../src/errors.ts";

export function textBudget(maxAllowedPacket: number): number {
  return Math.max(64 * 1024, Math.floor(maxAllowedPacket / 8));
}

/** Consecutive groups whose summed sizes stay within `budget` (an item too big alone gets its own group). */
export function groupBySize<T>(items: T[], size: (item: T) => number, budget: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && used + n > budget) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export function jobSize(job: NewJob): number {
  return job.payload.length + (job.step?.length ?? 0) + (job.key?.length ?? 0) + 512;
}

export function checkPayloads(jobs: NewJob[], budget: number, maxAllowedPacket: number): void {
  for (const job of jobs) {
    if (jobSize(job) > budget) {
      throw new EnqueueError(
        `${job.task}: the payload is ${job.payload.length} characters, more than this MySQL server accepts ` +
          `in one statement (max_allowed_packet is ${maxAllowedPacket} bytes)`,
      );
    }
  }
}

export function outcomeSize(o: Outcome): number {
  let n = 256;
  if (o.kind === "succeeded") n += o.returnValue.length + (o.workspace?.length ?? 0);
  if (o.kind === "advance") n += o.workspace.length + o.step.length;
  if (o.kind === "wait") n += o.children.length * 40;
  if ("error" in o) n += o.error.name.length + o.error.message.length + (o.error.stack?.length ?? 0);
  return n;
}

/**
 * Makes every outcome storable on its own: an oversize return value or
 * workspace fails its job; oversize error text is cut.
 */
export function fitOutcome(o: Outcome, budget: number): Outcome {
  if (outcomeSize(o) <= budget) return o;
  if (o.kind === "succeeded" || o.kind === "advance") {
    const what = o.kind === "advance"
      ? "workspace"
      : o.workspace === undefined
      ? "return value"
      : "return value with the workspace";
    const size = o.kind === "advance" ? o.workspace.length : o.returnValue.length + (o.workspace?.length ?? 0);
    return {
      id: o.id,
      kind: "failed",
      error: {
        name: "ResultError",
        message: `the ${what} is ${size} characters, more than this MySQL server accepts ` +
          `in one statement (raise max_allowed_packet, or return less)`,
        stack: null,
      },
      claim: o.claim,
      parentId: o.parentId,
    };
  }
  if (!("error" in o)) return o;
  const part = Math.floor(budget / 4);
  const cut = (s: string) => (s.length > part ? `${s.slice(0, part)}… (truncated from ${s.length} characters)` : s);
  return {
    ...o,
    error: { name: cut(o.error.name), message: cut(o.error.message), stack: o.error.stack && cut(o.error.stack) },
  };
}
