#!/usr/bin/env node
/**
 * Peer benchmark: pg-boss 10.4.2 (the newest pg-boss whose engines field allows
 * Node 20), measured the way bench/run.ts measures Stint (see bench/README.md,
 * "What the figures mean"), so the two can be run side by side on the same
 * machine (bench/peers/compare.sh --peer pg-boss).
 *
 *   npm install --prefix bench/peers --no-audit --no-fund
 *   node bench/peers/pgboss.mjs --url postgres://… --scenario bulk|single|drain|latency
 *        [--jobs 20000] [--single 2000] [--concurrency 10] [--mode tuned|defaults]
 *        [--batch-size 500] [--latency-jobs 500] [--pace 4] [--no-warmup]
 *
 * The database must exist and be empty: pg-boss installs its schema (`pgboss`)
 * in boss.start(), and the queue is made with createQueue() (pg-boss 10 requires
 * it), all before anything is timed. Logs go to stderr; stdout gets exactly one
 * JSON line:
 *   {"peer":"pg-boss","version":"10.4.2","scenario":…,"mode":…,"value":…,"unit":…[,"p50":…,"p99":…]}
 *
 * Workers: pg-boss 10 has no concurrency option ("Each call to work() will add a
 * new worker", docs/api/workers.md of 10.x); each worker is one loop that fetches
 * up to batchSize jobs, runs the handler on them, completes them (without
 * waiting) and sleeps pollingInterval minus the time that took. So --concurrency N
 * is N work() calls, and the handler runs the no-op job by job, so that at most N
 * jobs run at once.
 * --mode tuned    = pg-boss's documented throughput options of work() (docs/api/workers.md,
 *                   types.d.ts WorkOptions): batchSize = --batch-size (500) and
 *                   pollingIntervalSeconds = 0.5, the minimum ("must be >=0.5 (500ms)").
 * --mode defaults = no work() options: batchSize 1, pollingIntervalSeconds 2 ("The default
 *                   options for work() is 1 job every 2 seconds"), so N workers drain about
 *                   N/2 jobs per second: give the drain few jobs (compare.sh uses 200).
 * In both modes: pg-boss's constructor defaults (pool max 10, maintenance every 120 s,
 * its cron worker on __pgboss__send-it every 5 s), no schedules; completed jobs stay in
 * pgboss.job (pg-boss archives them after 12 h). pg-boss 10 has no wake-up of its own
 * (no LISTEN/NOTIFY): a sent job waits for the next poll. notifyWorker(id) would skip
 * one worker's sleep by hand; this bench does not call it.
 * `mode` is null in the JSON for bulk and single (no worker of ours runs).
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { deadline, makeLog, percentile, runCli } from "./common.mjs";
import { setTimeout as sleep } from "node:timers/promises";
import PgBoss from "pg-boss";

const PEER = "pg-boss";
const VERSION = JSON.parse(
  readFileSync(new URL("./node_modules/pg-boss/package.json", import.meta.url), "utf8"),
).version;
const SCHEMA = "pgboss";
const QUEUE = "bench_noop";
/** The warm-up has its own queue (its own partition), so no worker of it can touch the measured jobs. */
const WARMUP_QUEUE = "bench_warmup";
const BULK_BATCH = 1000;
/** pg-boss 10's minimum pollingIntervalSeconds (POLICY.MIN_POLLING_INTERVAL_MS in src/attorney.js). */
const MIN_POLLING_SECONDS = 0.5;
/** pg-boss 10's default pollingIntervalSeconds (src/attorney.js applyPollingInterval). */
const DEFAULT_POLLING_SECONDS = 2;

const USAGE = `usage: node bench/peers/pgboss.mjs --url postgres://… --scenario S [options]
  --scenario S        bulk | single | drain | latency
  --jobs N            jobs for bulk and drain (default 20000)
  --single N          send calls for single (default 2000)
  --concurrency N     work() calls (workers) for drain and latency (default 10)
  --mode M            tuned (batchSize, pollingIntervalSeconds 0.5) | defaults (default tuned)
  --batch-size N      batchSize of each worker in tuned mode (default 500)
  --latency-jobs N    jobs in the latency run (default 500)
  --pace MS           milliseconds between latency send calls (default 4)
  --no-warmup         skip the untimed warm-up (100 send calls and a 1,000-job drain)`;

const log = makeLog("pg-boss");

/** work() options for a mode: none for defaults, the documented throughput options for tuned. */
function workOptions(mode, batchSize) {
  if (mode === "defaults") return {};
  return { batchSize, pollingIntervalSeconds: MIN_POLLING_SECONDS };
}

/** What a mode's workers can drain at most: jobs per second, and the polling interval in ms. */
function capacity(mode, o) {
  const w = workOptions(mode, o.batchSize);
  const intervalMs = (w.pollingIntervalSeconds ?? DEFAULT_POLLING_SECONDS) * 1000;
  return { jobsPerSecond: (o.concurrency * (w.batchSize ?? 1) * 1000) / intervalMs, intervalMs };
}

class Bench {
  constructor(o) {
    this.o = o;
    this.boss = null;
    /** pg-boss errors, failed or repeated jobs: a benchmark that hides them lies. */
    this.jobErrors = 0;
    this.closing = false;
    this.onUnhandled = (reason) => this.error(`unhandled rejection: ${reason?.stack ?? reason}`);
  }

  error(message) {
    // pg-boss completes jobs without awaiting it, so errors can also surface while it shuts down;
    // they are logged then, but by that time every figure has been checked already.
    if (this.closing) {
      log(`while closing: ${message}`);
      return;
    }
    if (++this.jobErrors <= 5) log(message);
  }

  async open() {
    process.on("unhandledRejection", this.onUnhandled);
    this.boss = new PgBoss({ connectionString: this.o.url, schema: SCHEMA, application_name: "bench-pg-boss" });
    // Without an "error" listener an EventEmitter throws; pg-boss reports worker and pool errors here.
    this.boss.on("error", (e) => this.error(`pg-boss error: ${e?.message ?? e}`));
    await this.boss.start(); // installs the pgboss schema
    const { rows } = await this.sql(`select count(*)::int as n from ${SCHEMA}.job`);
    if (rows[0].n !== 0) throw new Error(`the database is not empty: ${SCHEMA}.job holds ${rows[0].n} jobs`);
    await this.boss.createQueue(QUEUE);
    await this.boss.createQueue(WARMUP_QUEUE);
  }

  async close() {
    if (!this.boss) return;
    this.closing = true;
    try {
      // Stops every worker, waits for the ones still holding jobs, then ends the pool.
      await this.boss.stop({ graceful: true, wait: true, timeout: 10_000 });
      // stop() does nothing when start() failed half-way: end the pool all the same.
      const db = this.boss.getDb();
      if (db.opened) await db.close();
    } finally {
      this.boss = null;
      process.off("unhandledRejection", this.onUnhandled);
    }
  }

  sql(text, values = []) {
    return this.boss.getDb().executeSql(text, values);
  }

  /** Jobs of a queue by state: open (created, retry, active), completed, and failed or cancelled. */
  async states(queue) {
    const { rows } = await this.sql(
      `select count(*) filter (where state < 'completed')::int as open,
              count(*) filter (where state = 'completed')::int as completed,
              count(*) filter (where state > 'completed')::int as bad
         from ${SCHEMA}.job where name = $1`,
      [queue],
    );
    return rows[0];
  }

  async addBulk(queue, n, from = 0) {
    for (let done = 0; done < n; done += BULK_BATCH) {
      const size = Math.min(BULK_BATCH, n - done);
      await this.boss.insert(Array.from({ length: size }, (_, k) => ({ name: queue, data: { i: from + done + k } })));
    }
  }

  /**
   * Starts --concurrency workers (work() calls) on `queue` in the given mode; `handler(job)` runs
   * for each job of a batch, one after another. Returns a function that stops them.
   */
  async startWorkers(queue, mode, handler) {
    const options = workOptions(mode, this.o.batchSize);
    // pg-boss awaits what the handler returns: a resolved promise, as an async handler gives.
    const batchHandler = (jobs) => {
      for (const job of jobs) handler(job);
      return Promise.resolve();
    };
    for (let k = 0; k < this.o.concurrency; k++) await this.boss.work(queue, options, batchHandler);
    return () => this.boss.offWork(queue);
  }

  /**
   * Waits until `n` distinct jobs of `queue` have run and none is left open, then checks that all
   * of them completed (pg-boss writes completions after the handler returns, without awaiting them).
   */
  async untilDrained(queue, n, ran, everyoneRan, limit) {
    await Promise.race([everyoneRan, limit.promise]);
    for (;;) {
      const s = await Promise.race([this.states(queue), limit.promise]);
      if (s.open === 0) {
        if (s.completed !== n || s.bad !== 0) {
          this.error(`${queue}: ${s.completed} completed and ${s.bad} failed or cancelled jobs, expected ${n} completed`);
        }
        break;
      }
      await Promise.race([sleep(2), limit.promise]);
    }
    if (ran.repeats > 0) this.error(`${queue}: ${ran.repeats} jobs ran more than once`);
  }

  /** A handler that counts distinct jobs and resolves `everyoneRan` once `n` have run. */
  counter(n) {
    const seen = new Set();
    const ran = { repeats: 0, get count() { return seen.size; } };
    let allRan;
    const everyoneRan = new Promise((resolve) => (allRan = resolve));
    const handler = (job) => {
      if (seen.has(job.id)) ran.repeats++;
      else if (seen.add(job.id).size === n) allRan();
    };
    return { ran, everyoneRan, handler };
  }

  /** A deadline for draining n jobs in a mode: twice what its polling allows, and at least 2 minutes. */
  drainLimit(n, mode, what) {
    const { jobsPerSecond, intervalMs } = capacity(mode, this.o);
    return deadline(Math.max(120_000, (2 * n * 1000) / jobsPerSecond + 2 * intervalMs, n * 10), what);
  }

  async single(n) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await this.boss.send(QUEUE, { i });
    return (performance.now() - t0) / 1000;
  }

  async bulk(n) {
    const t0 = performance.now();
    await this.addBulk(QUEUE, n);
    return (performance.now() - t0) / 1000;
  }

  /** Seconds from just before the first work() call until `n` pre-added jobs have run and completed. */
  async drain(n, mode) {
    const { jobsPerSecond } = capacity(mode, this.o);
    if (n / jobsPerSecond > 60) {
      log(`note: ${mode} workers drain at most ~${jobsPerSecond} jobs/s, so ${n} jobs take over ${Math.round(n / jobsPerSecond)} s`);
    }
    await this.addBulk(QUEUE, n);
    const { ran, everyoneRan, handler } = this.counter(n);
    const limit = this.drainLimit(n, mode, () => `${ran.count} of ${n} jobs ran`);
    let stop;
    const t0 = performance.now();
    try {
      stop = await Promise.race([this.startWorkers(QUEUE, mode, handler), limit.promise]);
      await this.untilDrained(QUEUE, n, ran, everyoneRan, limit);
      return (performance.now() - t0) / 1000;
    } finally {
      limit.clear();
      if (stop) await stop();
    }
  }

  /** Latency samples (ms, sorted): handler start − send() call start, same process and instance. */
  async latency(jobs, pace, mode) {
    const { jobsPerSecond, intervalMs } = capacity(mode, this.o);
    const offered = pace > 0 ? 1000 / pace : Infinity;
    if (offered > jobsPerSecond) {
      log(
        `note: ${offered} jobs/s offered, but ${mode} workers take at most ~${jobsPerSecond} jobs/s: ` +
          "the latency includes the backlog",
      );
    }
    const starts = new Array(jobs);
    const samples = [];
    let allSeen;
    const everyoneSeen = new Promise((resolve) => (allSeen = resolve));
    const handler = (job) => {
      samples.push(performance.now() - starts[job.data.i]);
      if (samples.length === jobs) allSeen();
    };
    const stop = await this.startWorkers(QUEUE, mode, handler);
    try {
      // Let every worker's first (empty) fetch return, as a worker that has been idle for a while would have.
      await sleep(100);
      const t0 = performance.now();
      for (let i = 0; i < jobs; i++) {
        const wait = t0 + i * pace - performance.now();
        if (wait > 0) await sleep(wait);
        starts[i] = performance.now();
        await this.boss.send(QUEUE, { i });
      }
      const limit = deadline(
        30_000 + 3 * intervalMs + (2 * jobs * 1000) / jobsPerSecond,
        () => `${samples.length} of ${jobs} jobs seen`,
      );
      try {
        await Promise.race([everyoneSeen, limit.promise]);
        // Not timed: the samples are taken; check that every job completed.
        const ran = { repeats: samples.length - jobs, count: samples.length };
        await this.untilDrained(QUEUE, jobs, ran, everyoneSeen, limit);
      } finally {
        limit.clear();
      }
      return samples.sort((a, b) => a - b);
    } finally {
      await stop();
    }
  }

  /**
   * Untimed, like bench/scenarios.ts warmUp(): 100 awaited send calls, then a 1,000-job drain,
   * so JIT and module loading are not charged to the measurement. It uses its own queue, and
   * tuned workers in either mode (default workers would take minutes over 1,100 jobs).
   */
  async warmUp() {
    const single = Math.min(100, this.o.single);
    for (let i = 0; i < single; i++) await this.boss.send(WARMUP_QUEUE, { i });
    const n = Math.min(1000, this.o.jobs) + single;
    await this.addBulk(WARMUP_QUEUE, n - single, single);
    const { ran, everyoneRan, handler } = this.counter(n);
    const stop = await this.startWorkers(WARMUP_QUEUE, "tuned", handler);
    const limit = this.drainLimit(n, "tuned", () => `warm-up: ${ran.count} of ${n} jobs ran`);
    try {
      await this.untilDrained(WARMUP_QUEUE, n, ran, everyoneRan, limit);
    } finally {
      limit.clear();
      await stop();
    }
  }
}

async function main(o) {
  const bench = new Bench(o);
  const worker = o.scenario === "drain" || o.scenario === "latency";
  const result = { peer: PEER, version: VERSION, scenario: o.scenario, mode: worker ? o.mode : null };
  try {
    await bench.open();
    if (o.warmup) {
      log("warm-up");
      await bench.warmUp();
    }
    if (o.scenario === "bulk") {
      const s = await bench.bulk(o.jobs);
      log(`bulk: ${o.jobs} jobs, ${BULK_BATCH} per insert call, in ${s.toFixed(3)} s`);
      Object.assign(result, { value: Math.round(o.jobs / s), unit: "jobs/s" });
    } else if (o.scenario === "single") {
      const s = await bench.single(o.single);
      log(`single: ${o.single} awaited send calls in ${s.toFixed(3)} s`);
      Object.assign(result, { value: Math.round(o.single / s), unit: "jobs/s" });
    } else if (o.scenario === "drain") {
      const s = await bench.drain(o.jobs, o.mode);
      log(
        `drain (${o.mode}, ${JSON.stringify(workOptions(o.mode, o.batchSize))}): ` +
          `${o.jobs} jobs, ${o.concurrency} workers, in ${s.toFixed(3)} s`,
      );
      Object.assign(result, { value: Math.round(o.jobs / s), unit: "jobs/s" });
    } else {
      const sorted = await bench.latency(o.latencyJobs, o.pace, o.mode);
      const [p50, p99] = [percentile(sorted, 50), percentile(sorted, 99)];
      const max = sorted[sorted.length - 1];
      log(
        `latency (${o.mode}, ${JSON.stringify(workOptions(o.mode, o.batchSize))}): ${sorted.length} jobs every ${o.pace} ms, ` +
          `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms`,
      );
      const round = (x) => Math.round(x * 100) / 100;
      Object.assign(result, { value: round(p50), unit: "ms", p50: round(p50), p99: round(p99) });
    }
    if (bench.jobErrors > 0) throw new Error(`${bench.jobErrors} errors (see above)`);
  } finally {
    await bench.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await runCli({ usage: USAGE, log, extra: { "--batch-size": ["batchSize", 500] }, main });
