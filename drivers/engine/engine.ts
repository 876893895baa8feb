/**
 * A whole `Driver` made from a `SqlAccess`: each method is the function of the
 * same name, in the file of that name, here in drivers/engine/. Drivers call
 * this and then replace the few methods their dialect does better
 * (PostgreSQL's one-statement claim), with a function of the same name again.
 */
import type { Driver } from "../../src/driver.ts";
import type { SqlAccess } from "./access.ts";
import { jobInsertMany } from "./jobInsertMany.ts";
import { jobGet } from "./jobGet.ts";
import { jobClaim } from "./jobClaim.ts";
import { jobFinishMany } from "./jobFinishMany.ts";
import { jobPromoteDue } from "./jobPromoteDue.ts";
import { jobRetryMany } from "./jobRetryMany.ts";
import { jobDiscardMany } from "./jobDiscardMany.ts";
import { jobCancel } from "./jobCancel.ts";
import { jobCancelRequested } from "./jobCancelRequested.ts";
import { queuePause } from "./queuePause.ts";
import { queueResume } from "./queueResume.ts";
import { queueIsPaused } from "./queueIsPaused.ts";
import { queueClear } from "./queueClear.ts";
import { queueList } from "./queueList.ts";
import { queueDepth } from "./queueDepth.ts";
import { jobList } from "./jobList.ts";
import { jobFailedCount } from "./jobFailedCount.ts";
import { processList } from "./processList.ts";
import { processRegister } from "./processRegister.ts";
import { processHeartbeat } from "./processHeartbeat.ts";
import { processDeregister } from "./processDeregister.ts";
import { processPruneStale } from "./processPruneStale.ts";
import { claimListOrphaned } from "./claimListOrphaned.ts";
import { claimListHeld } from "./claimListHeld.ts";
import { concurrencyMaintain } from "./concurrencyMaintain.ts";
import { semaphoreList } from "./semaphoreList.ts";
import { recurringSync } from "./recurringSync.ts";
import { recurringUpsert } from "./recurringUpsert.ts";
import { recurringDelete } from "./recurringDelete.ts";
import { recurringList } from "./recurringList.ts";
import { recurringDue } from "./recurringDue.ts";
import { recurringReserve } from "./recurringReserve.ts";
import { recurringEnqueue } from "./recurringEnqueue.ts";
import { retentionPrune } from "./retentionPrune.ts";
import { stepList } from "./stepList.ts";
import { stepSave } from "./stepSave.ts";
import { jobProgress } from "./jobProgress.ts";
import { transactionRun } from "./transactionRun.ts";

export function createEngineDriver(access: SqlAccess): Driver {
  return {
    dialect: access.dialect,
    capabilities: access.capabilities,
    migrate: () => access.migrate(access.migrations),
    close: () => access.close(),
    jobInsertMany: (p) => jobInsertMany(access, p),
    jobGet: (p) => jobGet(access, p),
    jobClaim: (p) => jobClaim(access, p),
    jobFinishMany: (p) => jobFinishMany(access, p),
    transactionRun: (p) => transactionRun(access, p),
    jobPromoteDue: (p) => jobPromoteDue(access, p),
    jobRetryMany: (p) => jobRetryMany(access, p),
    jobDiscardMany: (p) => jobDiscardMany(access, p),
    jobCancel: (p) => jobCancel(access, p),
    jobCancelRequested: (p) => jobCancelRequested(access, p),
    queuePause: (p) => queuePause(access, p),
    queueResume: (p) => queueResume(access, p),
    queueIsPaused: (p) => queueIsPaused(access, p),
    queueClear: (p) => queueClear(access, p),
    queueList: (p) => queueList(access, p),
    queueDepth: (p) => queueDepth(access, p),
    jobList: (p) => jobList(access, p),
    stepList: (p) => stepList(access, p),
    stepSave: (p) => stepSave(access, p),
    jobProgress: (p) => jobProgress(access, p),
    jobFailedCount: (p) => jobFailedCount(access, p),
    processList: (p) => processList(access, p),
    processRegister: (p) => processRegister(access, p),
    processHeartbeat: (p) => processHeartbeat(access, p),
    processDeregister: (p) => processDeregister(access, p),
    processPruneStale: (p) => processPruneStale(access, p),
    claimListOrphaned: (p) => claimListOrphaned(access, p),
    claimListHeld: (p) => claimListHeld(access, p),
    concurrencyMaintain: (p) => concurrencyMaintain(access, p),
    semaphoreList: (p) => semaphoreList(access, p),
    recurringSync: (p) => recurringSync(access, p),
    recurringUpsert: (p) => recurringUpsert(access, p),
    recurringDelete: (p) => recurringDelete(access, p),
    recurringList: (p) => recurringList(access, p),
    recurringDue: (p) => recurringDue(access, p),
    recurringReserve: (p) => recurringReserve(access, p),
    recurringEnqueue: (p) => recurringEnqueue(access, p),
    retentionPrune: (p) => retentionPrune(access, p),
  };
}
