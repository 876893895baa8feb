/**
 * Claims whose process is gone are failed, so no job stays "running" forever:
 * a process whose heartbeat is older than processAliveThreshold is pruned and
 * its jobs fail with ProcessPrunedError; claims with no process behind them
 * fail with ProcessMissingError. A task with `retry` runs again (at least once).
 */
import type { OrphanClaim } from "../driver.ts";
import { ProcessMissingError, ProcessPrunedError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { failure } from "./execute.ts";

async function failClaims(ctx: RuntimeContext, claims: OrphanClaim[], error: () => Error): Promise<number> {
  if (claims.length === 0) return 0;
  const outcomes = claims.map((c) => failure(c, ctx.tasks.get(c.task), error(), Date.now));
  const applied = await ctx.driver.jobsFinish({
    backend: ctx.config.backend,
    processId: null,
    outcomes,
    preserveFinished: ctx.config.preserveFinishedJobs,
    now: new Date(),
  });
  return applied.length;
}

/** Prunes stale processes and fails orphaned claims; returns how many jobs were failed. */
export async function recoverClaims(ctx: RuntimeContext, selfId: string): Promise<{ pruned: number; failed: number }> {
  const { driver, config } = ctx;
  const { pruned, claims } = await driver.processesPruneStale({
    backend: config.backend,
    staleBefore: new Date(Date.now() - config.processAliveThresholdMs),
    exceptId: selfId,
  });
  if (pruned.length > 0) ctx.logger.warn(`pruned ${pruned.length} stale process(es)`, { pruned });
  let failed = await failClaims(ctx, claims, () => new ProcessPrunedError());
  failed += await failClaims(ctx, await driver.claimsOrphaned({ backend: config.backend }), () => new ProcessMissingError());
  return { pruned: pruned.length, failed };
}
