/**
 * A whole `Driver` made from a `SqlAccess`. Drivers call this and then replace
 * the few methods their dialect does better (PostgreSQL's one-statement claim).
 */
import type { Driver } from "../../src/driver.ts";
import type { SqlAccess } from "./access.ts";
import { cancelJob, cancelRequested, discardJobs, getJob, retryJobs } from "./admin.ts";
import { claimBySelector } from "./claim.ts";
import { finishJobs, insertJobs, promoteDue } from "./jobs.ts";
import { substrPrefix } from "./selectors.ts";
import { failedCounts, listJobs, listProcesses } from "./listing.ts";
import {
  deregisterProcess,
  heartbeatProcess,
  heldClaims,
  orphanedClaims,
  pruneStaleProcesses,
  registerProcess,
} from "./processes.ts";
import { clearQueue, pauseQueue, queueIsPaused, queueList, resumeQueue } from "./queues.ts";
import { listSemaphores, maintainConcurrency } from "./concurrency.ts";
import {
  deleteRecurring,
  dueRecurring,
  enqueueSlot,
  listRecurring,
  reserveSlot,
  syncRecurring,
  upsertRecurring,
} from "./recurring.ts";
import { pruneRetention } from "./retention.ts";

export function createSqlDriver(access: SqlAccess): Driver {
  return {
    dialect: access.dialect,
    capabilities: access.capabilities,
    migrate: () => access.migrate(access.migrations),
    close: () => access.close(),
    jobInsertMany: (p) =>
      p.tx === undefined
        ? access.transaction((q) => insertJobs(q, p.backend, p.jobs, p.now, access))
        : insertJobs(access.runnerForUserTx(p.tx), p.backend, p.jobs, p.now, access),
    jobGet: (p) => getJob(access, p.backend, p.id),
    jobClaim: (p) => claimBySelector(access, p, substrPrefix),
    jobFinishMany: (p) => finishJobs(access, p),
    jobPromoteDue: (p) => promoteDue(access, p),
    jobRetryMany: (p) => retryJobs(access, p),
    jobDiscardMany: (p) => discardJobs(access, p),
    jobCancel: (p) => cancelJob(access, p),
    jobCancelRequested: (p) => cancelRequested(access, p),
    queuePause: (p) => pauseQueue(access, p),
    queueResume: (p) => resumeQueue(access, p),
    queueIsPaused: (p) => queueIsPaused(access, p),
    queueClear: (p) => clearQueue(access, p),
    queueList: (p) => queueList(access, p),
    jobList: (p) => listJobs(access, p),
    jobFailedCount: (p) => failedCounts(access, p),
    processList: (p) => listProcesses(access, p),
    processRegister: (p) => registerProcess(access, p),
    processHeartbeat: (p) => heartbeatProcess(access, p),
    processDeregister: (p) => deregisterProcess(access, p),
    processPruneStale: (p) => pruneStaleProcesses(access, p),
    claimListOrphaned: (p) => orphanedClaims(access, p),
    claimListHeld: (p) => heldClaims(access, p),
    concurrencyMaintain: (p) => maintainConcurrency(access, p),
    semaphoreList: (p) => listSemaphores(access, p),
    recurringSync: (p) => syncRecurring(access, p),
    recurringUpsert: (p) => upsertRecurring(access, p),
    recurringDelete: (p) => deleteRecurring(access, p),
    recurringList: (p) => listRecurring(access, p),
    recurringDue: (p) => dueRecurring(access, p),
    recurringReserve: (p) => reserveSlot(access, p),
    recurringEnqueue: (p) => enqueueSlot(access, p),
    retentionPrune: (p) => pruneRetention(access, p),
  };
}
