/**
 * `transactional: true` in async mode (DESIGN §11): one attempt of the job
 * runs in Driver.transactionRun, a transaction of the queue's own client on
 * the queue's database, which the handler reaches as ctx.tx. When the attempt
 * comes to an outcome (succeeded, or a multi-step job's advance), that outcome
 * is written by jobFinishMany({ tx }) inside the same transaction, so it
 * commits with the handler's writes, or neither does:
 *
 *   handler returns ─▶ outcome written in tx ─▶ commit ─▶ the completer only reports it
 *   handler throws, timeout, cancel, stop ─▶ thrown out of the transaction ─▶ rollback
 *                                            ─▶ decided as usual (retry applies), written by the completer
 *   the process dies ─▶ the connection dies, the server rolls back ─▶ crash recovery runs it again
 *   the claim is gone (recovered, pruned) ─▶ the finish applies nothing ─▶ rollback, reported
 *
 * The attempt races the job's abort (execute.ts), so an abort throws out of
 * the transaction at once even when the handler never settles; ctx.tx is
 * closed then (tx-guard.ts), so the handler can no longer reach the
 * connection. The outcome is decided only once the rollback is done.
 */
import { ConfigError, TransactionError } from "../errors.ts";
import type { Task } from "../task.ts";
import type { Outcome } from "../records.ts";
import type { RuntimeContext } from "./context.ts";
import type { Transact } from "./durable.ts";
import { TxGuard } from "./tx-guard.ts";

export function transactor(rt: RuntimeContext, worker: { name: string; processId: string }): Transact {
  return async (job, ctx, attempt) => {
    const outcome = await rt.driver.transactionRun({
      fn: async (tx) => {
        const guard = new TxGuard(tx, job.id);
        ctx.txGuard = guard;
        let done: Outcome;
        try {
          done = await attempt();
        } catch (error) {
          guard.end("its transaction was rolled back");
          throw error;
        }
        guard.end("the handler returned");
        const finished: Outcome = { ...done, claim: job.claim };
        if (job.parentId) finished.parentId = job.parentId;
        if (ctx.stored) finished.stored = true;
        const applied = await rt.driver.jobFinishMany({
          backend: rt.config.backend,
          processId: worker.processId,
          outcomes: [finished],
          preserveFinished: rt.config.preserveFinishedJobs,
          now: new Date(),
          tx,
        });
        if (!applied.includes(job.id)) {
          const error = new TransactionError(
            `job ${job.id} is no longer held by ${worker.name} (its claim was recovered or released meanwhile): ` +
              `its transaction was rolled back`,
          );
          rt.reportError(error, { operation: "transactional finish", processName: worker.name, jobId: job.id });
          throw error;
        }
        return finished;
      },
    });
    return { ...outcome, committed: true };
  };
}

/**
 * Worker mode refuses transactional tasks: the handler would run in an
 * isolate, which holds no connection of the queue (DESIGN §6: a terminated
 * isolate must leave no lock or open transaction behind), so ctx.tx could not
 * be the queue's transaction there. `where` says who asked (createStint's
 * mode, start()).
 */
export function refuseTransactionalInWorkerMode(tasks: Map<string, Task>, where: string): void {
  const names = [...tasks.values()].filter((t) => t.transactional).map((t) => t.name);
  if (names.length === 0) return;
  throw new ConfigError(
    `${where}: mode "worker" cannot run transactional tasks (${names.join(", ")}): their handler runs in the ` +
      `transaction of the queue's own connection, which an isolate does not hold. Use mode "async" ` +
      `(createStint({ mode: "async" }) or start({ mode: "async" }))`,
  );
}
