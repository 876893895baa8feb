#!/usr/bin/env node
/**
 * Peer benchmark: graphile-worker 0.18.0, measured the way bench/run.ts
 * measures Stint (see bench/README.md, "What the figures mean"), so the two can
 * be run side by side on the same machine (bench/peers/compare.sh).
 *
 *   npm install --prefix bench/peers --no-audit --no-fund
 *   node bench/peers/graphile.mjs --url postgres://… --scenario bulk|single|drain|latency
 *        [--jobs 20000] [--single 2000] [--concurrency 10] [--mode tuned|defaults]
 *        [--latency-jobs 500] [--pace 4] [--no-warmup]
 *
 * The database must exist and be empty: graphile-worker's schema is installed
 * here (runMigrations) before anything is timed. Logs go to stderr; stdout gets
 * exactly one JSON line:
 *   {"peer":"graphile-worker","version":"0.18.0","scenario":…,"mode":…,"value":…,"unit":…[,"p50":…,"p99":…]}
 *
 * --mode tuned    = graphile's documented throughput settings (worker.graphile.org/docs/performance):
 *                   preset.worker.localQueue = { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0.
 * --mode defaults = no tuning (no local queue, one completion per job).
 * In both modes: concurrency from --concurrency, graphile's default pool (maxPoolSize 10) and
 * pollInterval (2 s; new jobs wake the worker through LISTEN "jobs:insert"), no cron items.
 * `mode` is null in the JSON for bulk and single (no worker runs).
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { deadline, makeLog, percentile, runCli } from "./common.mjs";
import { setTimeout as sleep } from "node:timers/promises";
import { Logger, makeWorkerUtils, run, runMigrations } from "graphile-worker";

const PEER = "graphile-worker";
const VERSION = JSON.parse(
  readFileSync(new URL("./node_modules/graphile-worker/package.json", import.meta.url), "utf8"),
).version;
const SCHEMA = "graphile_worker";
const TASK = "bench_noop";
const BULK_BATCH = 1000;

const USAGE = `usage: node bench/peers/graphile.mjs --url postgres://… --scenario S [options]
  --scenario S        bulk | single | drain | latency
  --jobs N            jobs for bulk and drain (default 20000)
  --single N          addJob calls for single (default 2000)
  --concurrency N     worker concurrency for drain and latency (default 10)
  --mode M            tuned (local queue 500, batched completions) | defaults (default tuned)
  --latency-jobs N    jobs in the latency run (default 500)
  --pace MS           milliseconds between latency addJob calls (default 4)
  --no-warmup         skip the untimed warm-up (100 addJob calls and a 1,000-job drain)`;

const log = makeLog("graphile");

/** Graphile's own logging: errors and warnings only, to stderr. */
const logger = new Logger((scope) => (level, message) => {
  if (level === "error" || level === "warning") {
    log(`${level}${scope?.label ? ` (${scope.label})` : ""}: ${message}`);
  }
});

/** Worker settings for a mode (the batching options only exist as preset options in 0.18). */
function workerPreset(mode) {
  if (mode === "defaults") return {};
  return { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } };
}

class Bench {
  constructor(o) {
    this.o = o;
    this.utils = null;
    /** Jobs that failed or errored in a handler: a benchmark that hides them lies. */
    this.jobErrors = 0;
  }

  async open() {
    await runMigrations({ connectionString: this.o.url, schema: SCHEMA, logger });
    this.utils = await makeWorkerUtils({ connectionString: this.o.url, schema: SCHEMA, logger });
    const left = await this.jobsLeft();
    if (left !== 0) throw new Error(`the database is not empty: ${SCHEMA}._private_jobs holds ${left} jobs`);
  }

  async close() {
    if (this.utils) await this.utils.release();
    this.utils = null;
  }

  async jobsLeft() {
    const { rows } = await this.utils.withPgClient((c) =>
      c.query(`select count(*)::int as n from ${SCHEMA}._private_jobs`)
    );
    return rows[0].n;
  }

  async addBulk(n, from = 0) {
    for (let done = 0; done < n; done += BULK_BATCH) {
      const size = Math.min(BULK_BATCH, n - done);
      await this.utils.addJobs(
        Array.from({ length: size }, (_, k) => ({ identifier: TASK, payload: { i: from + done + k } })),
      );
    }
  }

  /** A running worker (run()) with `handler` as the no-op task, in the given mode. */
  async startWorker(mode, handler, { waitForListen = false } = {}) {
    const events = new EventEmitter();
    const count = (what) => (e) => {
      if (++this.jobErrors <= 5) log(`${what}: ${e?.error?.message ?? e?.error ?? "?"}`);
    };
    events.on("job:error", count("job error"));
    events.on("job:failed", count("job failed"));
    events.on("worker:fatalError", count("worker fatal error"));
    events.on("pool:fatalError", count("pool fatal error"));
    const listening = new Promise((resolve) => events.once("pool:listen:success", resolve));
    const runner = await run({
      connectionString: this.o.url,
      schema: SCHEMA,
      concurrency: this.o.concurrency,
      noHandleSignals: true,
      logger,
      events,
      taskList: { [TASK]: handler },
      // No crontab file lookup, no cron items: the cron loop has nothing to schedule.
      parsedCronItems: [],
      preset: workerPreset(mode),
    });
    if (waitForListen) {
      const limit = deadline(10_000, () => "the worker never LISTENed");
      try {
        await Promise.race([listening, limit.promise]);
      } finally {
        limit.clear();
      }
    }
    return runner;
  }

  async single(n) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await this.utils.addJob(TASK, { i });
    return (performance.now() - t0) / 1000;
  }

  async bulk(n) {
    const t0 = performance.now();
    await this.addBulk(n);
    return (performance.now() - t0) / 1000;
  }

  /** Seconds from just before run() until `n` pre-added jobs have run and none is left in the table. */
  async drain(n, mode) {
    await this.addBulk(n);
    let ran = 0;
    let allRan;
    const everyoneRan = new Promise((resolve) => (allRan = resolve));
    const handler = () => {
      if (++ran === n) allRan();
    };
    const limit = deadline(Math.max(120_000, n * 10), () => `${ran} of ${n} jobs ran`);
    const t0 = performance.now();
    let runner;
    try {
      runner = await Promise.race([this.startWorker(mode, handler), limit.promise]);
      await Promise.race([everyoneRan, limit.promise]);
      // Completions are written after the handlers return: wait until no job is left.
      for (;;) {
        if ((await Promise.race([this.jobsLeft(), limit.promise])) === 0) break;
        await Promise.race([sleep(2), limit.promise]);
      }
      return (performance.now() - t0) / 1000;
    } finally {
      limit.clear();
      if (runner) await runner.stop();
    }
  }

  /** Latency samples (ms, sorted): handler start − addJob call start, same process. */
  async latency(jobs, pace, mode) {
    const starts = new Array(jobs);
    const samples = [];
    let allSeen;
    const everyoneSeen = new Promise((resolve) => (allSeen = resolve));
    const handler = (payload) => {
      samples.push(performance.now() - starts[payload.i]);
      if (samples.length === jobs) allSeen();
    };
    const runner = await this.startWorker(mode, handler, { waitForListen: true });
    try {
      const t0 = performance.now();
      for (let i = 0; i < jobs; i++) {
        const wait = t0 + i * pace - performance.now();
        if (wait > 0) await sleep(wait);
        starts[i] = performance.now();
        await runner.addJob(TASK, { i });
      }
      const limit = deadline(30_000, () => `${samples.length} of ${jobs} jobs seen`);
      try {
        await Promise.race([everyoneSeen, limit.promise]);
      } finally {
        limit.clear();
      }
      return samples.sort((a, b) => a - b);
    } finally {
      await runner.stop();
    }
  }

  /**
   * Untimed, like bench/scenarios.ts warmUp(): 100 awaited addJob calls, then a
   * 1,000-job drain, so JIT and module loading are not charged to the measurement.
   */
  async warmUp(mode) {
    const single = Math.min(100, this.o.single);
    for (let i = 0; i < single; i++) await this.utils.addJob(TASK, { i });
    const n = Math.min(1000, this.o.jobs) + single;
    await this.addBulk(n - single, single);
    let ran = 0;
    let allRan;
    const everyoneRan = new Promise((resolve) => (allRan = resolve));
    const runner = await this.startWorker(mode, () => {
      if (++ran === n) allRan();
    });
    const limit = deadline(60_000, () => `warm-up: ${ran} of ${n} jobs ran`);
    try {
      await Promise.race([everyoneRan, limit.promise]);
      while ((await this.jobsLeft()) !== 0) await Promise.race([sleep(2), limit.promise]);
    } finally {
      limit.clear();
      await runner.stop();
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
      await bench.warmUp(worker ? o.mode : "defaults");
    }
    if (o.scenario === "bulk") {
      const s = await bench.bulk(o.jobs);
      log(`bulk: ${o.jobs} jobs, ${BULK_BATCH} per addJobs call, in ${s.toFixed(3)} s`);
      Object.assign(result, { value: Math.round(o.jobs / s), unit: "jobs/s" });
    } else if (o.scenario === "single") {
      const s = await bench.single(o.single);
      log(`single: ${o.single} awaited addJob calls in ${s.toFixed(3)} s`);
      Object.assign(result, { value: Math.round(o.single / s), unit: "jobs/s" });
    } else if (o.scenario === "drain") {
      const s = await bench.drain(o.jobs, o.mode);
      log(`drain (${o.mode}): ${o.jobs} jobs at concurrency ${o.concurrency} in ${s.toFixed(3)} s`);
      Object.assign(result, { value: Math.round(o.jobs / s), unit: "jobs/s" });
    } else {
      const sorted = await bench.latency(o.latencyJobs, o.pace, o.mode);
      const [p50, p99] = [percentile(sorted, 50), percentile(sorted, 99)];
      const max = sorted[sorted.length - 1];
      log(
        `latency (${o.mode}): ${sorted.length} jobs every ${o.pace} ms, ` +
          `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms`,
      );
      const round = (x) => Math.round(x * 100) / 100;
      Object.assign(result, { value: round(p50), unit: "ms", p50: round(p50), p99: round(p99) });
    }
    if (bench.jobErrors > 0) throw new Error(`${bench.jobErrors} job errors (see above)`);
  } finally {
    await bench.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await runCli({ usage: USAGE, log, main });
