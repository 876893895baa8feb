/**
 * createStint: everything checked and loaded before an instance exists. What it
 * needs from outside the core comes in as bindings (Hono's adapter pattern):
 * mod.ts binds the drivers and the runtime adapters, so nothing under src/
 * imports upward.
 */
import { resolveConfig, type StintOptions } from "./config.ts";
import type { ConnectOptions, Driver } from "./driver.ts";
import { ConfigError } from "./errors.ts";
import { consoleLogger } from "./log.ts";
import type { Platform } from "./platform.ts";
import { checkRecurringTask } from "./recurring.ts";
import { refuseTransactionalInWorkerMode } from "./runtime/transactional.ts";
import { Stint } from "./stint.ts";
import { collectTasks, type Task } from "./task.ts";

/** What createStint takes from outside the core. */
export interface StintBindings {
  /** Opens a driver for a URL; loads its database client only then. */
  connect(options: ConnectOptions): Promise<Driver>;
  /** The runtime's Platform; asked only when createStint is not given one. */
  platform(): Promise<Platform>;
}

/** createStint over the given bindings (mod.ts exports it bound to the defaults). */
export function createStintFactory(bindings: StintBindings): (options?: StintOptions) => Promise<Stint> {
  return async function createStint(options: StintOptions = {}): Promise<Stint> {
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new ConfigError(`createStint options must be an object like { url, tasks }, got ${String(options)}`);
    }
    const config = resolveConfig(options);
    const tasks = await loadTasks(options.tasks);
    for (const def of config.recurring) checkRecurringTask(def, tasks, `recurring.${def.key}`);
    if (config.mode === "worker") refuseTransactionalInWorkerMode(tasks, "mode");
    const tasksUrl = options.tasks instanceof URL || typeof options.tasks === "string" ? tasksModuleUrl(options.tasks) : null;
    const platform: Platform = options.platform ?? await bindings.platform();
    const driver = options.driver ??
      await bindings.connect({ url: config.url, statementTimeoutMs: config.statementTimeoutMs, notify: config.listenNotify });
    return new Stint(config, driver, tasks, platform, options.logger ?? consoleLogger, options.onRuntimeError, tasksUrl);
  };
}

/** Isolates import the tasks module by absolute URL; a relative string is resolved like import() would from here. */
function tasksModuleUrl(source: URL | string): string {
  try {
    return new URL(String(source)).href;
  } catch {
    throw new ConfigError(`tasks: ${JSON.stringify(String(source))} is not an absolute URL (use new URL("./tasks.ts", import.meta.url))`);
  }
}

async function loadTasks(source: StintOptions["tasks"]): Promise<Map<string, Task>> {
  if (source === undefined) return new Map();
  if (source instanceof URL || typeof source === "string") {
    let module: unknown;
    try {
      module = await import(String(source));
    } catch (error) {
      throw new ConfigError(`tasks: cannot import ${String(source)}: ${(error as Error).message}`, { cause: error });
    }
    return collectTasks(module, `tasks module ${String(source)}`);
  }
  return collectTasks(source);
}
