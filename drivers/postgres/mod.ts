/**
 * The PostgreSQL driver over postgres.js.
 *
 * The shared engine (drivers/engine/) supplies every method; the hot path is
 * replaced by single statements (one round trip each: jobInsertMany, jobClaim,
 * jobFinishMany, jobPromoteDue, each in the file of its name), and `listen`
 * adds LISTEN/NOTIFY wake-ups. Claims use FOR UPDATE SKIP LOCKED, so
 * any number of workers claim side by side without waiting on each other.
 *
 * The queue's statements carry `statement_timeout` (a connection parameter on
 * the driver's own connections; statements run in a caller's `tx` follow that
 * session's settings). After a server restart postgres.js reconnects on the
 * next query; a statement that met a connection the server had closed is run
 * once more on a fresh one (access.ts `retryable`), and the listener issues
 * LISTEN again by itself. While the server is down, calls fail (fast: the
 * connection is refused) and the runtime's claim and completion loops retry.
 */
import type { Driver, DriverOptions } from "../../src/driver.ts";
import { createEngineDriver } from "../engine/engine.ts";
import { inCauseChain, namesStintTable, withNotMigratedError } from "../engine/not-migrated.ts";
import { stepSave } from "../engine/stepSave.ts";
import { createAccess, runnerOver } from "./access.ts";
import { jobClaim } from "./jobClaim.ts";
import { jobFinishMany } from "./jobFinishMany.ts";
import { jobInsertMany } from "./jobInsertMany.ts";
import { jobPromoteDue } from "./jobPromoteDue.ts";
import { createListener, notifyQueues } from "./notify.ts";
import { endPool, openPool } from "./open.ts";

export async function createPostgresDriver(options: DriverOptions): Promise<Driver> {
  const { sql, hot: hotSql, options: pgOptions } = await openPool(options);
  const access = createAccess(sql);
  const hot = runnerOver(hotSql, { retry: true });
  const listener = createListener(options.url, pgOptions);
  const notify = options.notify ?? true;
  return withNotMigratedError({
    ...createEngineDriver(access),
    jobInsertMany: (p) => jobInsertMany(access, hot, { ...p, notify }),
    jobClaim: (p) => jobClaim(hot, p),
    jobFinishMany: (p) => jobFinishMany(access, hot, { ...p, notify }),
    jobPromoteDue: (p) => jobPromoteDue(access, hot, { ...p, notify }),
    // A spawned child that is ready wakes its queue's workers when the step commits.
    stepSave: (p) =>
      stepSave(access, p, (q, backend, child, status) =>
        status === "ready" ? notifyQueues(q, backend, [child.queue], notify) : Promise.resolve()),
    listen: (p) => listener.listen(p),
    async close() {
      await listener.close();
      await Promise.all([access.close(), endPool(hotSql, 5)]);
    },
  }, isMissingTable);
}

/**
 * The shared engine's statements alone on PostgreSQL: none of the statements
 * above, no wake-ups. Not part of the package's surface: the contract suite
 * runs it beside the full driver (test/support/targets.ts, "postgres-engine"),
 * so a PostgreSQL statement that drifts from the engine fails a test.
 */
export async function createPostgresEngineDriver(options: DriverOptions): Promise<Driver> {
  const { sql, hot } = await openPool(options);
  const access = createAccess(sql);
  return withNotMigratedError({
    ...createEngineDriver(access),
    async close() {
      await Promise.all([access.close(), endPool(hot, 5)]);
    },
  }, isMissingTable);
}

/** undefined_table (42P01) on one of the queue's tables. */
const isMissingTable = (error: unknown) => inCauseChain(error, (e) => e.code === "42P01" && namesStintTable(e));

export default createPostgresDriver;
