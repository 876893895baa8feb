/**
 * The chaos suite's command line. The defaults are the bounded pass CI runs (75 s for both
 * databases and both runtimes on two cores, measured; test/run.sh allows 200 s); --full is the long run.
 *
 *   --db postgres,libsql      databases (postgres, mysql: a private server the suite starts;
 *                             mysql, MariaDB, is opt-in, not in the default set)
 *   --runtime deno,bun        runtimes of the supervisors
 *   --duration 12s            how long faults are injected, per database × runtime
 *   --supervisors 3           supervisors kept running
 *   --jobs 600                jobs enqueued steadily over the duration (bursts come on top)
 *   --burst 2000              jobs in the burst fault
 *   --seed N                  the faults' and the jobs' seed (printed; random by default)
 *   --drain 45s               how long the queue may take to drain after the faults
 *   --stop-deadline 15s       how long a SIGTERMed supervisor may take to exit
 *   --ci                      the bounded pass (the defaults)
 *   --full                    60 s per pass, 3,000 steady jobs, a burst of 20,000
 *   --no-faults               the same load with no fault (a baseline)
 *   --keep                    keep the child logs and libSQL files even when every pass holds
 */
import process from "node:process";
import { parseDuration } from "../../mod.ts";
import type { Runtime } from "./fleet.ts";

export interface Settings {
  dbs: string[];
  runtimes: Runtime[];
  durationMs: number;
  supervisors: number;
  jobs: number;
  burst: number;
  seed: number;
  drainMs: number;
  stopDeadlineMs: number;
  faultMinMs: number;
  faultMaxMs: number;
  keep: boolean;
  faults: boolean;
}

const DBS = ["postgres", "libsql"];
/** Known to --db; MariaDB is not in the default set (nor in CI's) yet. */
const KNOWN_DBS = [...DBS, "mysql"];
const RUNTIMES = ["deno", "bun"];

function fail(message: string): never {
  console.error(`chaos: ${message}`);
  process.exit(2);
}

function list(value: string, known: string[], flag: string): string[] {
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!known.includes(item)) fail(`${flag}: unknown ${JSON.stringify(item)} (known: ${known.join(", ")})`);
  if (!items.length) fail(`${flag}: empty`);
  return items;
}

function count(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`${flag}: ${JSON.stringify(value)} is not an integer ≥ ${min}`);
  return n;
}

function ms(value: string, flag: string): number {
  try {
    return parseDuration(/^\d+$/.test(value) ? `${value}s` : value, flag);
  } catch (error) {
    fail(`${flag}: ${(error as Error).message}`);
  }
}

export function parseArgs(argv: string[]): Settings {
  const s: Settings = {
    dbs: DBS,
    runtimes: RUNTIMES as Runtime[],
    durationMs: 12_000,
    supervisors: 3,
    jobs: 600,
    burst: 2000,
    seed: Math.floor(Math.random() * 2 ** 31),
    drainMs: 45_000,
    stopDeadlineMs: 15_000,
    faultMinMs: 1000,
    faultMaxMs: 2500,
    keep: false,
    faults: true,
  };
  const full = () => Object.assign(s, { durationMs: 60_000, jobs: 3000, burst: 20_000, drainMs: 120_000, faultMinMs: 1500, faultMaxMs: 4000 });
  const args = [...argv];
  // --full first, so explicit flags after or before it win either way.
  if (args.includes("--full")) full();
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => inline ?? args[++i] ?? fail(`${flag} needs a value`);
    switch (flag) {
      case "--ci":
      case "--full":
        break;
      case "--no-faults":
        s.faults = false;
        break;
      case "--keep":
        s.keep = true;
        break;
      case "--db":
        s.dbs = list(value(), KNOWN_DBS, flag);
        break;
      case "--runtime":
        s.runtimes = list(value(), RUNTIMES, flag) as Runtime[];
        break;
      case "--duration":
        s.durationMs = ms(value(), flag);
        break;
      case "--supervisors":
        s.supervisors = count(value(), flag, 1);
        break;
      case "--jobs":
        s.jobs = count(value(), flag, 0);
        break;
      case "--burst":
        s.burst = count(value(), flag, 0);
        break;
      case "--seed":
        s.seed = count(value(), flag, 0);
        break;
      case "--drain":
        s.drainMs = ms(value(), flag);
        break;
      case "--stop-deadline":
        s.stopDeadlineMs = ms(value(), flag);
        break;
      default:
        fail(`unknown option ${JSON.stringify(args[i])} (see test/chaos/settings.ts)`);
    }
  }
  return s;
}
