/** Command-line options of bench/run.ts, with their defaults and checks. */

export type Scenario = "enqueue" | "drain" | "steps" | "latency" | "transactional";

const SCENARIOS: Scenario[] = ["enqueue", "drain", "steps", "latency", "transactional"];

export interface BenchOptions {
  /** null: a fresh libSQL file per measurement in a temp directory. */
  url: string | null;
  /** Jobs for bulk enqueue and for each drain. */
  jobs: number;
  /** Jobs for single enqueue (sequential awaits). */
  single: number;
  concurrency: number[];
  scenarios: Set<Scenario>;
  latencyJobs: number;
  /** Milliseconds between latency enqueues. */
  paceMs: number;
  /** Worker pollingInterval in milliseconds (Stint) and the raw consumer's poll. */
  pollMs: number;
  /** Worker prefetch (drain and latency); the raw drain then claims concurrency + prefetch per round. */
  prefetch: number;
  /** Skip the raw-SQL ceiling. */
  raw: boolean;
  /** Runs of each measurement (median reported, order alternated). */
  repeat: number;
  /** Where the drain's handlers run: this event loop, or Web Worker isolates. */
  mode: "async" | "worker";
}

export const USAGE = `usage: bench/run.ts [options]
  --url URL            file:…, libsql:…, postgres://…, mysql://… (or mariadb://…) (default: a fresh libSQL temp file per measurement)
  --jobs N             jobs for bulk enqueue and for each drain (default 20000)
  --single N           jobs for single enqueue, one awaited call each (default 2000)
  --concurrency A,B    drain concurrencies (default 10,50)
  --scenario S         all | enqueue | drain | steps | latency | transactional, or a comma list (default all);
                       steps: the drain of three-step no-op jobs (jobs/s and steps/s, no ceiling)
  --latency-jobs N     jobs in each latency run (default 500)
  --pace MS            milliseconds between latency enqueues (default 4)
  --poll MS            worker pollingInterval (default 50)
  --prefetch N         worker prefetch in drain and latency; the raw drain claims concurrency + N (default 0)
  --repeat N           runs of each measurement, stint and raw alternating who goes first;
                       throughput is the median, latency pools every run's samples (default 1)
  --mode M             async | worker: where the drain's handlers run (default async; worker: Web Worker isolates)
  --no-raw             skip the raw-SQL ceiling`;

export class UsageError extends Error {}

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n <= 0) {
    throw new UsageError(`${flag}: expected a positive integer, got ${value}`);
  }
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    url: null,
    jobs: 20_000,
    single: 2_000,
    concurrency: [10, 50],
    scenarios: new Set(SCENARIOS),
    latencyJobs: 500,
    paceMs: 4,
    pollMs: 50,
    prefetch: 0,
    raw: true,
    repeat: 1,
    mode: "async",
  };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value: string | undefined;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const next = () => value ?? argv[++i];
    switch (flag) {
      case "--url":
        o.url = next() ?? null;
        if (!o.url || !/^(file|libsql|https?|wss?|postgres|postgresql|mysql|mariadb):/.test(o.url)) {
          throw new UsageError(`--url: not a database URL: ${o.url}`);
        }
        break;
      case "--jobs":
        o.jobs = positiveInt(flag, next());
        break;
      case "--single":
        o.single = positiveInt(flag, next());
        break;
      case "--concurrency":
        o.concurrency = String(next()).split(",").map((c) => positiveInt(flag, c.trim()));
        break;
      case "--scenario": {
        const list = String(next()).split(",").map((s) => s.trim());
        if (list.includes("all")) break;
        for (const s of list) {
          if (!SCENARIOS.includes(s as Scenario)) throw new UsageError(`--scenario: unknown ${s}`);
        }
        o.scenarios = new Set(list as Scenario[]);
        break;
      }
      case "--latency-jobs":
        o.latencyJobs = positiveInt(flag, next());
        break;
      case "--pace":
        o.paceMs = positiveInt(flag, next());
        break;
      case "--poll":
        o.pollMs = positiveInt(flag, next());
        break;
      case "--prefetch": {
        const v = next();
        if (v !== "0" && !/^[1-9][0-9]*$/.test(String(v))) {
          throw new UsageError(`--prefetch: expected 0 or a positive integer, got ${v}`);
        }
        o.prefetch = Number(v);
        break;
      }
      case "--repeat":
        o.repeat = positiveInt(flag, next());
        break;
      case "--mode": {
        const v = next();
        if (v !== "async" && v !== "worker") throw new UsageError(`--mode: expected async or worker, got ${v}`);
        o.mode = v;
        break;
      }
      case "--no-raw":
        o.raw = false;
        break;
      case "--help":
      case "-h":
        throw new UsageError("");
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  return o;
}
