/**
 * Claims whose process is gone are failed, so no job stays "running" forever:
 * a process whose heartbeat is older than processAliveThreshold is pruned and
 * its jobs fail with ProcessPrunedError; claims with no process behind them
 * fail with ProcessMissingError. A task with `retry` runs again (at least once),
 * except an at-most-once job: its stored delivery (ClaimedJob.delivery, so a
 * process without the task's code decides alike) makes the failure final, as
 * recovery cannot tell whether it started (DESIGN §11; failure() in execute.ts).
 * At a supervisor's start, rows of this host whose pid is gone are pruned at
 * once (their heartbeat may still look fresh).
 */
import type { OrphanClaim } from "../records.ts";
import { ProcessMissingError, ProcessPrunedError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { failure } from "./execute.ts";

async function failClaims(ctx: RuntimeContext, claims: OrphanClaim[], error: () => Error): Promise<number> {
  if (claims.length === 0) return 0;
  const outcomes = claims.map((c) => failure(c, ctx.tasks.get(c.task), error(), Date.now));
  const applied = await ctx.driver.jobFinishMany({
    backend: ctx.config.backend,
    processId: null,
    outcomes,
    preserveFinished: ctx.config.preserveFinishedJobs,
    now: new Date(),
  });
  return applied.length;
}

/**
 * Processes of this host whose pid no longer exists: a supervisor restarted on
 * the same host need not wait processAliveThreshold for its predecessor's rows.
 * Hostname equality stands for "this host", and a row that recorded its pid
 * namespace must share ours: containers with host networking share the
 * hostname, but their pids name different processes. Our own pid is alive, so
 * our rows never qualify.
 */
export async function deadOnThisHost(ctx: RuntimeContext): Promise<string[]> {
  const { platform, driver, config } = ctx;
  if (!platform) return [];
  const host = platform.hostname();
  const namespace = platform.pidNamespace?.() ?? null;
  const rows = await driver.processList({ backend: config.backend });
  const sameNamespace = (metadata: Record<string, unknown>) => {
    const theirs = metadata.pidNamespace;
    return typeof theirs !== "string" || theirs === namespace; // rows of older versions recorded none
  };
  return rows.filter((p) => p.hostname === host && p.pid !== null && p.pid > 0 && p.pid !== platform.pid)
    .filter((p) => sameNamespace(p.metadata))
    .filter((p) => !platform.processExists(p.pid!))
    .map((p) => p.id);
}

/**
 * Prunes stale processes (and `deadIds`, whatever their heartbeat) and fails
 * orphaned claims; returns how many jobs were failed. `keepIds` are the caller
 * and its live runners: after an outage longer than processAliveThreshold their
 * rows are stale too, but they are running, and pruning them would fail the
 * jobs they run.
 */
export async function recoverClaims(
  ctx: RuntimeContext,
  keepIds: string[],
  deadIds: string[] = [],
): Promise<{ pruned: number; failed: number }> {
  const { driver, config } = ctx;
  const { pruned, claims } = await driver.processPruneStale({
    backend: config.backend,
    staleBefore: new Date(Date.now() - config.processAliveThresholdMs),
    exceptIds: keepIds,
    deadIds,
  });
  if (pruned.length > 0) ctx.logger.warn(`pruned ${pruned.length} stale process(es)`, { pruned });
  let failed = await failClaims(ctx, claims, () => new ProcessPrunedError());
  failed += await failClaims(ctx, await driver.claimListOrphaned({ backend: config.backend }), () => new ProcessMissingError());
  return { pruned: pruned.length, failed };
}
