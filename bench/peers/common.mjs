/**
 * What the peer benchmarks (graphile.mjs, pgboss.mjs) share: the command line,
 * logging, percentiles, deadlines and the exit protocol (one JSON line on
 * stdout; exit 1 on failure, 2 on a bad option).
 */
import process from "node:process";

export const SCENARIOS = ["bulk", "single", "drain", "latency"];
export const MODES = ["tuned", "defaults"];

export class UsageError extends Error {}

/** A logger to stderr with the peer's label and the time of day. */
export function makeLog(label) {
  return (message) => process.stderr.write(`[${label} ${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

function positive(flag, v, allowZero = false) {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 0 || (n === 0 && !allowZero)) {
    throw new UsageError(`${flag}: expected a ${allowZero ? "non-negative" : "positive"} integer, got ${v}`);
  }
  return n;
}

/**
 * The options every peer takes; `extra` adds a peer's own positive-integer
 * options, as { "--flag": ["key", default] }.
 */
export function parseArgs(argv, extra = {}) {
  const o = {
    url: null,
    scenario: null,
    jobs: 20_000,
    single: 2_000,
    concurrency: 10,
    mode: "tuned",
    latencyJobs: 500,
    pace: 4,
    warmup: true,
  };
  for (const [key, value] of Object.values(extra)) o[key] = value;
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const next = () => value ?? argv[++i];
    switch (flag) {
      case "--url":
        o.url = next();
        if (!o.url || !/^postgres(ql)?:\/\//.test(o.url)) {
          throw new UsageError(`--url: not a postgres:// URL: ${o.url}`);
        }
        break;
      case "--scenario":
        o.scenario = next();
        if (!SCENARIOS.includes(o.scenario)) throw new UsageError(`--scenario: one of ${SCENARIOS.join(", ")}`);
        break;
      case "--mode":
        o.mode = next();
        if (!MODES.includes(o.mode)) throw new UsageError(`--mode: one of ${MODES.join(", ")}`);
        break;
      case "--jobs":
        o.jobs = positive(flag, next());
        break;
      case "--single":
        o.single = positive(flag, next());
        break;
      case "--concurrency":
        o.concurrency = positive(flag, next());
        break;
      case "--latency-jobs":
        o.latencyJobs = positive(flag, next());
        break;
      case "--pace":
        o.pace = positive(flag, next(), true);
        break;
      case "--no-warmup":
        o.warmup = false;
        break;
      case "-h":
      case "--help":
        throw new UsageError("");
      default:
        if (!(flag in extra)) throw new UsageError(`unknown option ${flag}`);
        o[extra[flag][0]] = positive(flag, next());
    }
  }
  if (!o.url) throw new UsageError("--url is required");
  if (!o.scenario) throw new UsageError("--scenario is required");
  return o;
}

/** Nearest-rank percentile of sorted values, as bench/report.ts computes it. */
export function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** A promise that rejects after `ms` (naming what was awaited), and the way to cancel it. */
export function deadline(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms)} ms: ${what()}`)), ms);
  });
  promise.catch(() => {});
  return { promise, clear: () => clearTimeout(timer) };
}

/**
 * Parses the command line and runs `main(options)`: usage on a bad option
 * (exit 2), exit 1 if `main` throws. Should a stray handle remain, the
 * process still ends.
 */
export async function runCli({ usage, log, extra, main }) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2), extra);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) console.error(error.message);
    console.error(usage);
    process.exit(error.message ? 2 : 0);
  }
  let code = 0;
  try {
    await main(options);
  } catch (error) {
    log(`failed: ${error?.stack ?? error}`);
    code = 1;
  }
  process.exitCode = code;
  setTimeout(() => process.exit(code), 5_000).unref();
}
