/**
 * The command line's arguments, checked in full before anything is opened: a
 * typo must not create ./stint.db, start a supervisor or prune with a window
 * nobody asked for. Runtime-free, so cli.ts only wires it to the platform.
 */
import { UsageError } from "./errors.ts";
import type { PruneOptions } from "./retention.ts";
import { MAX_TIMER_MS } from "./timers.ts";
import { usageCheck } from "./validate.ts";

export const USAGE =
  "usage: stint <start|migrate|health|prune|stats|queue-depth> [--config FILE] [--backend ALIAS] [--url URL] …" +
  " (stint --help for more)";

export const HELP = `usage: stint <command> [flags]

  start    [--mode worker|async] [--only-work | --only-dispatch] [--skip-recurring]
           [--rate-limit N/DURATION]  each worker starts at most N jobs per DURATION (10/1s)
  migrate
  health   [--max-age 5m]            exit 1 and print the reason when unhealthy
  prune    [--finished-older-than D] [--failed-older-than D] [--recurring-older-than D]
           [--task NAME] [--task-key KEY] [--batch-size N]
  stats                              stats.json to stdout
  queue-depth [QUEUE…] [--exclude-future-jobs]
                                     jobs waiting to run by queue, as JSON ({"default": 3});
                                     every QUEUE named is there, 0 included

Every command takes --config FILE (else $STINT_CONFIG, else ./stint.yml when it exists),
--backend ALIAS and --url URL. Exit codes: 0 done (healthy), 1 failed or unhealthy,
2 bad command line or configuration (nothing was opened).`;

const COMMON = ["config", "backend", "url", "help"];
/** The flags each command takes besides COMMON; a flag another command takes is refused here too. */
const COMMANDS: Record<string, string[]> = {
  start: ["mode", "only-work", "only-dispatch", "skip-recurring", "rate-limit"],
  migrate: [],
  health: ["max-age"],
  prune: ["finished-older-than", "failed-older-than", "recurring-older-than", "task", "task-key", "batch-size"],
  stats: [],
  "queue-depth": ["exclude-future-jobs"],
};
const BOOL_FLAGS = new Set(["only-work", "only-dispatch", "skip-recurring", "exclude-future-jobs", "help"]);
/** Commands that take plain arguments after them (queue-depth's queue names). */
const TAKES_ARGS = new Set(["queue-depth"]);
const KNOWN_FLAGS = new Set([...COMMON, ...Object.values(COMMANDS).flat()]);
const MAX_BATCH = 100_000;

export interface Invocation {
  /** null: print the help (exit 0). */
  command: string | null;
  flags: Map<string, string | true>;
  /** The plain arguments after a command that takes them (queue-depth's queues). */
  args: string[];
}

/** Splits argv into a command and flags; throws UsageError for anything it cannot read. */
export function parseArgs(argv: string[]): Invocation {
  const flags = new Map<string, string | true>();
  const args: string[] = [];
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h") {
      flags.set("help", true);
      continue;
    }
    if (!arg.startsWith("-")) {
      if (command !== undefined && TAKES_ARGS.has(command)) {
        args.push(arg);
        continue;
      }
      if (command !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(arg)} after ${command}`);
      command = arg;
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`unknown flag ${JSON.stringify(arg)}`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (!KNOWN_FLAGS.has(name)) throw new UsageError(`unknown flag --${name}`);
    if (flags.has(name)) throw new UsageError(`--${name} is given twice`);
    if (BOOL_FLAGS.has(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    // "--config --url x": the next flag is not the value. "-5" is a value (a bad one, said so later).
    const value = inline ?? (argv[i + 1]?.startsWith("--") ? undefined : argv[++i]);
    if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
    flags.set(name, value);
  }
  if (flags.has("help") || command === "help") return { command: null, flags, args };
  if (command === undefined) throw new UsageError("no command given");
  if (!(command in COMMANDS)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  for (const name of flags.keys()) {
    if (!COMMON.includes(name) && !COMMANDS[command].includes(name)) {
      throw new UsageError(`--${name} is not a flag of ${command}`);
    }
  }
  if (flags.has("only-work") && flags.has("only-dispatch")) {
    throw new UsageError("--only-work and --only-dispatch exclude each other (give neither to run both)");
  }
  const mode = flags.get("mode");
  if (mode !== undefined && mode !== "worker" && mode !== "async") {
    throw new UsageError(`--mode: ${JSON.stringify(mode)} is not "worker" or "async"`);
  }
  return { command, flags, args };
}

/** A duration flag: a bare number is milliseconds, as in code and YAML; anything else must parse. */
export function durationFlag(flags: Map<string, string | true>, name: string): number | string | undefined {
  const value = flags.get(name) as string | undefined;
  if (value === undefined) return undefined;
  const parsed = /^\d+$/.test(value) ? Number(value) : value;
  usageCheck.duration(parsed, `--${name}`);
  return parsed;
}

/** health's --max-age, checked: a duration above zero. */
export function healthOptions(flags: Map<string, string | true>): { maxAge?: number | string } {
  const maxAge = durationFlag(flags, "max-age");
  if (maxAge === undefined) return {};
  if (usageCheck.duration(maxAge, "--max-age") <= 0) throw new UsageError("--max-age must be greater than zero");
  return { maxAge };
}

/**
 * start's --rate-limit N/DURATION, checked: the rateLimit every worker of the
 * process gets (over any the configuration gives). N a whole number from 1 to
 * 1,000,000; DURATION above zero ("1s", "500ms", a bare number is milliseconds).
 */
export function rateLimitFlag(flags: Map<string, string | true>): { limit: number; per: number | string } | undefined {
  const value = flags.get("rate-limit") as string | undefined;
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(.+)$/.exec(value);
  if (!match) throw new UsageError(`--rate-limit: ${JSON.stringify(value)} is not N/DURATION (e.g. 10/1s)`);
  const limit = Number(match[1]);
  if (limit < 1 || limit > 1_000_000) {
    throw new UsageError(`--rate-limit: ${match[1]} is not a whole number from 1 to 1000000`);
  }
  const per = /^\d+$/.test(match[2]) ? Number(match[2]) : match[2];
  const ms = usageCheck.duration(per, "--rate-limit's DURATION");
  if (ms <= 0 || ms > MAX_TIMER_MS) {
    throw new UsageError(`--rate-limit: the DURATION must be above zero and at most ${MAX_TIMER_MS} ms`);
  }
  return { limit, per };
}

/** queue-depth's queues, checked as queue names (none: every queue with waiting jobs). */
export function depthOptions(
  flags: Map<string, string | true>,
  args: string[],
): { queues?: string[]; excludeFuture: boolean } {
  const queues = args.map((q) => usageCheck.name(q, "queue-depth's QUEUE"));
  return {
    queues: queues.length > 0 ? [...new Set(queues)] : undefined,
    excludeFuture: flags.has("exclude-future-jobs"),
  };
}

/** prune's flags, checked, as PruneOptions. */
export function pruneOptions(flags: Map<string, string | true>): PruneOptions {
  const text = (name: string) => {
    const value = flags.get(name) as string | undefined;
    return value === undefined ? undefined : usageCheck.name(value, `--${name}`);
  };
  const batch = flags.get("batch-size") as string | undefined;
  if (batch !== undefined && (!/^\d+$/.test(batch) || Number(batch) < 1 || Number(batch) > MAX_BATCH)) {
    throw new UsageError(`--batch-size: ${JSON.stringify(batch)} is not a whole number from 1 to ${MAX_BATCH}`);
  }
  return {
    finishedOlderThan: durationFlag(flags, "finished-older-than"),
    failedOlderThan: durationFlag(flags, "failed-older-than"),
    recurringOlderThan: durationFlag(flags, "recurring-older-than"),
    task: text("task"),
    taskKey: text("task-key"),
    batchSize: batch === undefined ? undefined : Number(batch),
  };
}

// scheme://user:password@ — the part of a URL that must never reach a terminal or a log.
const CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"']*:)[^\s@"']*@/gi;

/** The password of a database URL as written and as decoded, for redact(); none when it has none. */
export function passwordsOf(url: string | undefined): string[] {
  if (!url) return [];
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:([^@]*)@/i.exec(url);
  if (!match || match[1] === "") return [];
  let decoded = match[1];
  try {
    decoded = decodeURIComponent(match[1]);
  } catch {
    // a malformed escape: the raw form is all there is
  }
  return [...new Set([match[1], decoded])];
}

/**
 * One line for the terminal: newlines folded, `user:password@` in any URL masked,
 * and every known password masked wherever else it appears (a driver quoting it).
 */
export function errorLine(text: string, secrets: string[] = []): string {
  let line = text.replace(/\s*\n\s*/g, " ").trim().replace(CREDENTIALS, "$1***@");
  for (const secret of secrets) if (secret.length >= 3) line = line.split(secret).join("***");
  return line;
}
