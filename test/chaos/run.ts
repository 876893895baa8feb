/**
 * The fault suite: `npm run chaos` (deno run -A test/chaos/run.ts), or `bun test/chaos/run.ts`.
 * See test/README.md. For each database × runtime: N standalone worker-mode supervisors
 * (child processes), a stream of jobs that write a ledger row per execution, and seeded
 * faults; then a graceful stop, a drain and one line accounting for every job:
 *
 *   chaos: db=postgres runtime=deno jobs=… faults=… succeeded=… failed=… stuck=0 lost=0 overlapping=0 duplicate_runs=… unexited=0
 *
 * Exits non-zero when a line has stuck, lost, overlapping or unexited above zero (or a pass crashed).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createStint, type Stint } from "../../mod.ts";
import { account } from "./account.ts";
import { deadline, Faults } from "./faults.ts";
import { Fleet, type Runtime } from "./fleet.ts";
import { openLedger } from "./ledger.ts";
import { Load, rng } from "./load.ts";
import { mysqlSkip, type PrivateMysql, startMysql } from "./mysql.ts";
import { postgresSkip, type PrivatePostgres, startPostgres } from "./postgres.ts";
import { parseArgs, type Settings } from "./settings.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const settings: Settings = parseArgs(process.argv.slice(2));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const work = mkdtempSync(join(tmpdir(), "stint-chaos-"));
let pg: PrivatePostgres | null = null;
let my: PrivateMysql | null = null;
const fleets: Fleet[] = [];
let failed = false;

function cleanup(): void {
  for (const f of fleets) f.killAll();
  pg?.destroy();
  pg = null;
  my?.destroy();
  my = null;
  if (!failed && !settings.keep) rmSync(work, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    console.log(`chaos: interrupted (${signal}), stopping everything`);
    failed = true;
    cleanup();
    process.exit(130);
  });
}

/** Settles within `ms` or reports that it did not (a close that never returns is itself a finding). */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      console.log(`chaos:   ${what} did not finish within ${ms} ms`);
      resolve(undefined);
    }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function supervisorOptions(slot: number): Record<string, unknown> {
  return {
    // Short enough that a killed supervisor's jobs come back within a run.
    processHeartbeatInterval: "1s",
    processAliveThreshold: "6s",
    shutdownTimeout: "2s",
    isolateAbortGrace: "1s",
    // One supervisor of the fleet prefetches, so that path meets the faults too.
    workers: [{ concurrency: 8, isolates: 2, pollingInterval: "100ms", prefetch: slot === 0 ? 16 : 0 }],
    dispatchers: [{ pollingInterval: "200ms" }],
  };
}

async function pass(db: string, runtime: Runtime, seed: number): Promise<string> {
  const tag = `${db}/${runtime}`;
  const t0 = Date.now();
  const log = (line: string) => console.log(`chaos:   [${tag} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  let url: string;
  // The ledger: a table in the run's database on PostgreSQL and MariaDB (there as a user of its
  // own, which the kill-connections fault spares); files on libSQL (see ledger.ts).
  let ledgerUrl = `ledger-dir:${join(work, `ledger-${runtime}`)}`;
  let mysqlRun: { queueUser: string; database: string } | undefined;
  if (db === "postgres") {
    pg ??= await startPostgres();
    url = ledgerUrl = await pg.createDatabase(`chaos_${runtime}_${seed % 100000}`);
  } else if (db === "mysql") {
    my ??= await startMysql();
    const database = `chaos_${runtime}_${seed % 100000}`;
    const created = await my.createDatabase(database);
    ({ url, ledgerUrl } = created);
    mysqlRun = { queueUser: created.queueUser, database };
  } else {
    url = `file:${join(work, `chaos-${runtime}.db`)}`;
  }
  let runtimeErrors = 0;
  const stint: Stint = await createStint({
    url,
    tasks: new URL("./tasks.ts", import.meta.url),
    // The same timing as the supervisors (a drain must fit the alive threshold).
    processHeartbeatInterval: "1s",
    processAliveThreshold: "6s",
    shutdownTimeout: "2s",
    onRuntimeError: () => runtimeErrors++,
  });
  await stint.migrate();
  const ledger = await openLedger(ledgerUrl, 2);
  await ledger.setup();
  const aliveDir = join(work, `alive-${db}-${runtime}`);
  mkdirSync(aliveDir, { recursive: true });
  const aliveOf = (pid: number, isolate: string) => {
    try {
      return Number(readFileSync(join(aliveDir, `alive-${pid}-${isolate}`), "utf8")) || null;
    } catch {
      return null;
    }
  };
  const random = rng(seed);
  const fleet = new Fleet({
    runtime,
    root: ROOT,
    env: { CHAOS_URL: url, CHAOS_LEDGER_URL: ledgerUrl, CHAOS_ALIVE_DIR: aliveDir },
    logDir: work,
    options: supervisorOptions,
  });
  fleets.push(fleet);
  fleet.fill(settings.supervisors);
  const readyBy = Date.now() + 60_000;
  while (fleet.live().some((m) => !m.ready) && Date.now() < readyBy) await sleep(50);
  log(`${fleet.live().filter((m) => m.ready).length}/${settings.supervisors} supervisors ready`);

  const load = new Load(stint, random);
  const faults = new Faults({
    fleet,
    size: settings.supervisors,
    load,
    burst: settings.burst,
    random,
    pg: db === "postgres" ? { server: pg!, url } : undefined,
    mysql: mysqlRun ? { server: my!, ...mysqlRun } : undefined,
    log,
  });
  const start = Date.now();
  const end = start + settings.durationMs;
  // A steady stream: `jobs` spread over the duration in 100 ms ticks.
  const steady = (async () => {
    const ticks = Math.max(1, Math.floor(settings.durationMs / 100));
    for (let i = 0; i < ticks && Date.now() < end; i++) {
      const due = Math.round(((i + 1) * settings.jobs) / ticks) - Math.round((i * settings.jobs) / ticks);
      if (due > 0) await load.enqueue(due, { batch: due });
      await sleep(Math.max(0, start + (i + 1) * 100 - Date.now()));
    }
  })();
  const keeper = (async () => {
    while (Date.now() < end) {
      const replaced = fleet.fill(settings.supervisors);
      if (replaced) log(`${replaced} supervisor(s) had exited on their own, replaced`);
      await sleep(250);
    }
  })();
  while (Date.now() < end) {
    await sleep(settings.faultMinMs + random() * (settings.faultMaxMs - settings.faultMinMs));
    if (Date.now() >= end || !settings.faults) continue;
    const kind = faults.draw();
    if (process.env.CHAOS_DEBUG) log(`injecting ${kind}`);
    try {
      // pg_ctl restart may take its own 60 s at worst; nothing else comes close.
      const done = await deadline(75_000, faults.inject(kind).then(() => true));
      if (!done) log(`${kind} did not finish within 75 s; going on`);
    } catch (error) {
      log(`${kind} failed: ${(error as Error)?.message ?? error}`);
    }
  }
  await Promise.all([steady, keeper]);
  await load.settled();
  await faults.close();
  fleet.fill(settings.supervisors);
  log(`faults done (${faults.summary()}); ${load.ids.size} jobs enqueued, ${load.errors} batches refused; draining`);

  // Drain: every job ends, or the deadline passes (what is left is stuck).
  const drainBy = Date.now() + settings.drainMs;
  let waiting = -1;
  while (Date.now() < drainBy) {
    fleet.fill(settings.supervisors);
    try {
      const { totals } = await stint.stats();
      waiting = totals.ready + totals.scheduled + totals.blocked + totals.running;
      if (waiting === 0) break;
    } catch { /* a restart just happened; ask again */ }
    await sleep(250);
  }
  log(waiting === 0 ? "drained" : `drain deadline passed with ${waiting} jobs waiting or running`);

  await fleet.stopAll(settings.stopDeadlineMs);
  const unexited = fleet.unexited(settings.stopDeadlineMs);
  for (const m of unexited) {
    log(`unexited: pid ${m.pid} still ${m.exitedAt === null ? "alive" : "running"} ${settings.stopDeadlineMs} ms after SIGTERM (log ${m.log})`);
  }
  fleet.killAll();
  await fleet.waitAllExited(10_000);
  const crashed = fleet.crashed();
  if (crashed.length) log(`${crashed.length} supervisor(s) exited without a signal: ${crashed.map((m) => `${m.pid} ${m.exit}`).join(", ")}`);

  const rows = await ledger.rows();
  const a = await account(stint, load.ids, rows, (pid) => fleet.exitOf(pid), aliveOf);
  for (const line of a.examples) log(line);
  log(
    `executions=${a.executions} unended=${a.unended} extras=${a.extras} enqueue_errors=${load.errors} ` +
      `runner_runtime_errors=${runtimeErrors} supervisors=${fleet.members.length} took=${((Date.now() - t0) / 1000).toFixed(1)}s`,
  );
  await ledger.close().catch(() => {});
  await within(10_000, "the suite's own stint.close()", stint.close());
  const ok = a.stuck === 0 && a.lost === 0 && a.overlapping === 0 && unexited.length === 0;
  if (!ok) failed = true;
  return `chaos: db=${db} runtime=${runtime} jobs=${a.jobs} faults=${faults.total} succeeded=${a.succeeded} ` +
    `failed=${a.failed} stuck=${a.stuck} lost=${a.lost} overlapping=${a.overlapping} duplicate_runs=${a.duplicateRuns} ` +
    `unexited=${unexited.length}`;
}

console.log(
  `chaos: seed=${settings.seed} db=${settings.dbs.join(",")} runtime=${settings.runtimes.join(",")} ` +
    `duration=${settings.durationMs / 1000}s supervisors=${settings.supervisors} jobs=${settings.jobs} burst=${settings.burst} ` +
    `(repeat with --seed ${settings.seed}); logs in ${work}`,
);
const lines: string[] = [];
let n = 0;
for (const db of settings.dbs) {
  if (db === "postgres" && postgresSkip()) {
    lines.push(`chaos: db=postgres skipped: ${postgresSkip()}`);
    continue;
  }
  if (db === "mysql" && mysqlSkip()) {
    lines.push(`chaos: db=mysql skipped: ${mysqlSkip()}`);
    continue;
  }
  for (const runtime of settings.runtimes) {
    const seed = (settings.seed + 7919 * n++) >>> 0;
    try {
      lines.push(await pass(db, runtime, seed));
    } catch (error) {
      failed = true;
      // Its supervisors would otherwise run on, taking the next passes' CPU, until the end.
      for (const f of fleets) f.killAll();
      lines.push(`chaos: db=${db} runtime=${runtime} crashed: ${(error as Error)?.stack ?? error}`);
    }
    console.log(lines[lines.length - 1]);
  }
}
cleanup();
if (failed) console.log(`chaos: FAILED (seed ${settings.seed}); child logs kept in ${work}`);
// The suite's own clients may keep the event loop alive (see the PostgreSQL close item): exit explicitly.
process.exit(failed ? 1 : 0);
