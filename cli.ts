/**
 * The Stint command line: `deno run -A cli.ts <command>` or `bun cli.ts <command>`.
 *
 *   start    [--mode worker|async] [--only-work | --only-dispatch] [--skip-recurring]
 *   migrate
 *   health   [--max-age 5m]                    exit 1 and print the reason when unhealthy
 *   prune    [--finished-older-than D] [--failed-older-than D] [--recurring-older-than D]
 *            [--task NAME] [--task-key KEY] [--batch-size N]
 *   stats                                      stats.json to stdout
 *
 * Every command takes --config FILE (else $STINT_CONFIG, else ./stint.yml when it exists),
 * --backend ALIAS and --url URL. Precedence: flags > env > YAML file.
 */
import { detectPlatform } from "./adapters/mod.ts";
import { envFlag, envOverrides, parseConfigFile } from "./src/config-file.ts";
import { createStint } from "./src/stint.ts";
import type { StintOptions } from "./src/config.ts";
import { StintError } from "./src/errors.ts";

const VALUE_FLAGS = new Set([
  "config", "backend", "url", "mode", "max-age", "finished-older-than", "failed-older-than", "recurring-older-than",
  "task", "task-key", "batch-size",
]);
const BOOL_FLAGS = new Set(["only-work", "only-dispatch", "skip-recurring", "help"]);

function parseArgs(argv: string[]): { command: string | undefined; flags: Map<string, string | true> } {
  const flags = new Map<string, string | true>();
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      if (command !== undefined) throw new StintError("CLI_USAGE", `unexpected argument ${JSON.stringify(arg)}`);
      command = arg;
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (BOOL_FLAGS.has(name)) flags.set(name, true);
    else if (VALUE_FLAGS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new StintError("CLI_USAGE", `--${name} needs a value`);
      flags.set(name, value);
    } else throw new StintError("CLI_USAGE", `unknown flag --${name}`);
  }
  return { command, flags };
}

const platform = await detectPlatform();
const usage = "usage: stint <start|migrate|health|prune|stats> [--config FILE] [--backend ALIAS] [--url URL] …";

async function main(): Promise<number> {
  const { command, flags } = parseArgs(platform.args());
  if (!command || flags.has("help")) {
    console.log(usage);
    return command ? 0 : 2;
  }
  const flag = (name: string) => flags.get(name) as string | undefined;
  // On the command line a bare number is milliseconds, as it is in code and YAML.
  const duration = (name: string) => {
    const value = flag(name);
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : value;
  };
  const cwdUrl = new URL(`file://${platform.cwd().replace(/\/?$/, "/")}`);
  const configPath = flag("config") ?? platform.env("STINT_CONFIG") ??
    ((await platform.readTextFile("stint.yml")) !== null ? "stint.yml" : undefined);
  let options: StintOptions = {};
  if (configPath) {
    const fileUrl = new URL(configPath, cwdUrl).href;
    const text = await platform.readTextFile(new URL(fileUrl).pathname);
    if (text === null) throw new StintError("CONFIG_INVALID", `config file ${configPath} does not exist`);
    options = parseConfigFile(text, fileUrl, flag("backend") ?? platform.env("STINT_BACKEND"));
  }
  options = { ...options, ...envOverrides(platform) };
  if (flag("backend")) options.backend = flag("backend");
  if (flag("url")) options.url = flag("url");
  if (flag("mode")) options.mode = flag("mode") as "worker" | "async";
  if (typeof options.tasks === "string" && !/^[a-z]+:/.test(options.tasks)) options.tasks = new URL(options.tasks, cwdUrl).href;

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
        const skipRecurring = flags.has("skip-recurring") || envFlag(platform, "STINT_SKIP_RECURRING");
        const supervisor = await stint.start({ standalone: true, only, skipRecurring });
        console.log(`stint supervisor ${supervisor.name} (pid ${platform.pid}) started for backend ${stint.backend}`);
        await supervisor.stopped;
        return 0;
      }
      case "health": {
        const report = await stint.health(flag("max-age") !== undefined ? { maxAge: duration("max-age") } : {});
        console.log(report.healthy ? `healthy: ${report.supervisors} supervisor(s), ${report.runners} runner(s)` : `unhealthy: ${report.reason}`);
        return report.healthy ? 0 : 1;
      }
      case "stats":
        console.log(JSON.stringify(await stint.stats(), null, 2));
        return 0;
      case "prune": {
        const batchSize = flag("batch-size");
        const options = {
          finishedOlderThan: duration("finished-older-than"),
          failedOlderThan: duration("failed-older-than"),
          recurringOlderThan: duration("recurring-older-than"),
          task: flag("task"),
          taskKey: flag("task-key"),
          batchSize: batchSize === undefined ? undefined : Number(batchSize),
        };
        // One bounded batch per call; keep going while a batch came back full.
        const total = { finished: 0, failed: 0, recurring: 0, batches: 0 };
        for (;;) {
          const result = await stint.prune(options);
          total.finished += result.finished;
          total.failed += result.failed;
          total.recurring += result.recurring;
          total.batches++;
          if (!result.limitReached) break;
        }
        console.log(JSON.stringify(total));
        return 0;
      }
      default:
        console.error(`unknown command ${JSON.stringify(command)}\n${usage}`);
        return 2;
    }
  } finally {
    await stint.close();
  }
}

try {
  platform.exit(await main());
} catch (error) {
  console.error(error instanceof StintError ? `${error.name}: ${error.message}` : error);
  platform.exit(error instanceof StintError && error.code === "CLI_USAGE" ? 2 : 1);
}
