/** What every runner shares: the driver, resolved config, tasks, wake-ups, hooks, error reporting. */
import type { ResolvedConfig, RuntimeErrorContext } from "../config.ts";
import type { Driver } from "../driver.ts";
import type { Logger } from "../log.ts";
import type { Platform } from "../platform.ts";
import type { Task } from "../task.ts";
import type { Hooks } from "./hooks.ts";
import type { Wakeups } from "./wakeups.ts";

export interface RuntimeContext {
  driver: Driver;
  config: ResolvedConfig;
  tasks: Map<string, Task>;
  /** The tasks module's URL, which worker-mode isolates import; null when tasks were given as objects. */
  tasksUrl: string | null;
  wakeups: Wakeups;
  hooks: Hooks;
  logger: Logger;
  platform: Platform | null;
  reportError(error: unknown, context: RuntimeErrorContext): void;
  /** Jobs running in this process, by id, so cancel() can abort them directly. */
  running: Map<string, { abort(reason: unknown): void }>;
  /** Called with the ids whose outcomes were just written, so waitFor in this process wakes at once. */
  outcomesWritten?(ids: string[]): void;
}
