#!/usr/bin/env node
/**
 * The Stint command line: `deno run -A cli.ts <command>` or `bun cli.ts <command>`; installed
 * from npm, the `stint` bin (dist/cli.js: `npx stint`, `bunx --bun stint`, `deno run -A npm:stint`).
 *
 *   start    [--mode worker|async] [--only-work | --only-dispatch] [--skip-recurring]
 *            [--rate-limit N/DURATION]        each worker starts at most N jobs per DURATION
 *   migrate
 *   health   [--max-age 5m]                    exit 1 and print the reason when unhealthy
 *   prune    [--finished-older-than D] [--failed-older-than D] [--recurring-older-than D]
 *            [--task NAME] [--task-key KEY] [--batch-size N]
 *   stats                                      stats.json to stdout
 *   queue-depth [QUEUE…] [--exclude-future-jobs]  waiting jobs by queue, as JSON
 *
 * Every command takes --config FILE (else $STINT_CONFIG, else ./stint.yml when it exists),
 * --backend ALIAS and --url URL. Precedence: flags > env > YAML file.
 *
 * Exit codes: 0 done, 1 failed (or unhealthy), 2 bad command line or configuration. Every
 * argument and the whole configuration are checked before a database is opened, and an error
 * is one line on stderr with no stack and no password.
 */
import { detectPlatform } from "./adapters/mod.ts";
import { envFlag, envOverrides, parseConfigFile } from "./src/config-file.ts";
import { createStint } from "./mod.ts";
import { resolveConfig, type StintOptions } from "./src/config.ts";
import { ConfigError, UsageError } from "./src/errors.ts";
import {
  depthOptions,
  errorLine,
  HELP,
  healthOptions,
  parseArgs,
  passwordsOf,
  pruneOptions,
  rateLimitFlag,
  USAGE,
} from "./src/cli-args.ts";
import { pruneParams } from "./src/retention.ts";

const platform = await detectPlatform();
/** Every password the configuration names, masked in whatever this process prints about an error. */
const secrets: string[] = [];

/** The YAML file's text; null when an implicit ./stint.yml is absent. Any other miss is a ConfigError naming the path. */
async function readConfig(path: string, shown: string, explicit: boolean): Promise<string | null> {
  let text: string | null;
  try {
    text = await platform.readTextFile(path);
  } catch (error) {
    const code = (error as { code?: string })?.code;
    if (code === "EISDIR" || /is a directory/i.test(String((error as Error)?.message))) {
      throw new ConfigError(`config file ${shown} is a directory`);
    }
    throw new ConfigError(`config file ${shown} cannot be read: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  if (text === null && explicit) throw new ConfigError(`config file ${shown} does not exist`);
  return text;
}

/** The options the flags, the environment and the YAML file give, checked; nothing is opened. */
async function loadOptions(flags: Map<string, string | true>): Promise<StintOptions> {
  const flag = (name: string) => flags.get(name) as string | undefined;
  for (const url of [flag("url"), platform.env("STINT_DATABASE_URL")]) secrets.push(...passwordsOf(url));
  const cwd = platform.cwd().replace(/\/?$/, "/");
  const explicit = flag("config") ?? (platform.env("STINT_CONFIG") || undefined);
  const configPath = explicit ?? "stint.yml";
  const path = configPath.startsWith("/") ? configPath : `${cwd}${configPath}`;
  const text = await readConfig(path, configPath, explicit !== undefined);
  let options: StintOptions = {};
  if (text !== null) {
    const fileUrl = new URL("file:///");
    fileUrl.pathname = path; // the setter escapes "#", "?" and spaces that new URL(path) would misread
    options = parseConfigFile(text, fileUrl.href, flag("backend") ?? (platform.env("STINT_BACKEND") || undefined));
    if (typeof options.url === "string") secrets.push(...passwordsOf(options.url));
  }
  options = { ...options, ...envOverrides(platform) };
  if (flag("backend")) options.backend = flag("backend");
  if (flag("url")) options.url = flag("url");
  if (flag("mode")) options.mode = flag("mode") as "worker" | "async";
  const rateLimit = rateLimitFlag(flags);
  if (rateLimit) {
    // Every worker of this process, over what the file says; not an array: resolveConfig says what is wrong.
    const workers = options.workers ?? [{}];
    options.workers = Array.isArray(workers) ? workers.map((w) => (w !== null && typeof w === "object" ? { ...w, rateLimit } : w)) : workers;
  }
  if (typeof options.tasks === "string" && !/^[a-z]+:/.test(options.tasks)) {
    options.tasks = new URL(options.tasks, `file://${cwd}`).href;
  }
  return options;
}

async function main(): Promise<number> {
  const { command, flags, args } = parseArgs(platform.args());
  if (command === null) {
    console.log(HELP);
    return 0;
  }
  // Everything a command needs is checked here, before createStint opens (or creates) a database.
  const health = command === "health" ? healthOptions(flags) : {};
  const prune = command === "prune" ? pruneOptions(flags) : {};
  const depths = command === "queue-depth" ? depthOptions(flags, args) : null;
  const options = await loadOptions(flags);
  const config = resolveConfig(options);
  if (command === "prune") pruneParams(prune, config, Date.now());
  if (command === "start" && options.tasks === undefined && !flags.has("only-dispatch")) {
    throw new ConfigError("start: no tasks to run: set tasks: (a module path) in the config file, or use --only-dispatch");
  }
  const skipRecurring = command === "start" && (flags.has("skip-recurring") || envFlag(platform, "STINT_SKIP_RECURRING"));

  const stint = await createStint(options);
  try {
    switch (command) {
      case "migrate": {
        const applied = await stint.migrate();
        console.log(applied.length ? `applied migrations ${applied.join(", ")}` : "schema is up to date");
        return 0;
      }
      case "start": {
        const only = flags.has("only-work") ? "work" : flags.has("only-dispatch") ? "dispatch" : undefined;
        const supervisor = await stint.start({ standalone: true, only, skipRecurring });
        console.log(`stint supervisor ${supervisor.name} (pid ${platform.pid}) started for backend ${stint.backend}`);
        await supervisor.stopped;
        return 0;
      }
      case "health": {
        const report = await stint.health(health);
        console.log(
          report.healthy ? `healthy: ${report.supervisors} supervisor(s), ${report.runners} runner(s)` : `unhealthy: ${report.reason}`,
        );
        return report.healthy ? 0 : 1;
      }
      case "stats":
        console.log(JSON.stringify(await stint.stats(), null, 2));
        return 0;
      case "queue-depth":
        console.log(JSON.stringify(await stint.queueDepths(depths!)));
        return 0;
      default: { // prune
        // One bounded batch per call; keep going while a batch came back full.
        const total = { finished: 0, failed: 0, recurring: 0, batches: 0 };
        for (;;) {
          const result = await stint.prune(prune);
          total.finished += result.finished;
          total.failed += result.failed;
          total.recurring += result.recurring;
          total.batches++;
          if (!result.limitReached) break;
        }
        console.log(JSON.stringify(total));
        return 0;
      }
    }
  } finally {
    await stint.close();
  }
}

let code: number;
try {
  code = await main();
} catch (error) {
  const usage = error instanceof UsageError;
  const config = error instanceof ConfigError;
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  console.error(`stint: ${errorLine(usage ? message : `${name}: ${message}`, secrets)}${usage ? ` — ${USAGE}` : ""}`);
  code = usage || config ? 2 : 1;
}
platform.exit(code);
