/**
 * The PostgreSQL driver over postgres.js.
 *
 * The shared SQL engine supplies every method; the hot path is replaced by
 * single statements (one round trip each: insert, claim, finish, promote), and
 * `listen` adds LISTEN/NOTIFY wake-ups. Claims use FOR UPDATE SKIP LOCKED, so
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
import { createSqlDriver } from "../sql/engine.ts";
import { inCauseChain, namesStintTable, withNotMigratedError } from "../sql/not-migrated.ts";
import { createAccess, runnerOver } from "./access.ts";
import { finishClaimedJobs } from "./finish.ts";
import { claimReadyJobs, insertPlainJobs, promoteDueJobs } from "./jobs.ts";
import { createListener } from "./notify.ts";
import { endPool, openPool } from "./open.ts";

export async function createPostgresDriver(options: DriverOptions): Promise<Driver> {
  const { sql, hot: hotSql, options: pgOptions } = await openPool(options);
  const access = createAccess(sql);
  const hot = runnerOver(hotSql, { retry: true });
  const listener = createListener(options.url, pgOptions);
  const base = createSqlDriver(access);
  const notify = options.notify ?? true;
  return withNotMigratedError({
    ...base,
    jobInsertMany: (p) =>
      insertPlainJobs(access, hot, {
        backend: p.backend,
        jobs: p.jobs,
        now: p.now,
        userTx: p.tx === undefined ? null : access.runnerForUserTx(p.tx),
        notify,
      }),
    jobClaim: (p) => claimReadyJobs(hot, p),
    jobFinishMany: (p) => finishClaimedJobs(access, hot, { ...p, notify }),
    jobPromoteDue: (p) => promoteDueJobs(access, hot, { ...p, notify }),
    listen: (p) => listener.listen(p),
    async close() {
      await listener.close();
      await Promise.all([access.close(), endPool(hotSql, 5)]);
    },
  }, isMissingTable);
}

/** undefined_table (42P01) on one of the queue's tables. */
const isMissingTable = (error: unknown) => inCauseChain(error, (e) => e.code === "42P01" && namesStintTable(e));

export default createPostgresDriver;
