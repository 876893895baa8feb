/**
 * The engine's jobInsertMany in groups that each fit max_allowed_packet
 * (limits.ts), all in one transaction: a payload too big for the server is
 * refused before anything is sent.
 */
import type { InsertedJob, NewJob } from "../../src/records.ts";
import type { SqlAccess, SqlRunner } from "../engine/access.ts";
import { jobInsertManyIn } from "../engine/jobInsertMany.ts";
import { checkPayloads, groupBySize, jobSize } from "./limits.ts";

export async function jobInsertMany(
  access: SqlAccess,
  server: { maxAllowedPacket: number; budget: number },
  p: { backend: string; jobs: NewJob[]; now: Date; tx?: unknown },
): Promise<InsertedJob[]> {
  checkPayloads(p.jobs, server.budget, server.maxAllowedPacket);
  const groups = groupBySize(p.jobs, jobSize, server.budget);
  const insert = async (q: SqlRunner) => {
    const out: InsertedJob[] = [];
    for (const jobs of groups) out.push(...await jobInsertManyIn(q, access, { backend: p.backend, jobs, now: p.now }));
    return out;
  };
  return await (p.tx === undefined ? access.transaction(insert) : insert(access.runnerForUserTx(p.tx)));
}
