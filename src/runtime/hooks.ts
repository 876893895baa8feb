/**
 * Lifecycle hooks: `on("worker.start", fn)`, `on("dispatcher.*", fn)`. Fired in
 * registration order; a hook that throws (or rejects) is reported and never
 * keeps the next one from running.
 */
import type { RuntimeErrorContext } from "../config.ts";
import { ConfigError } from "../errors.ts";

export type HookKind = "supervisor" | "worker" | "dispatcher" | "scheduler";
export type HookAction = "start" | "stop" | "exit";
export type HookName = `${HookKind}.${HookAction}` | `${HookKind}.*`;

export interface HookEvent {
  name: `${HookKind}.${HookAction}`;
  kind: HookKind;
  processName: string;
  processId: string;
  error?: unknown;
}

export type HookFn = (event: HookEvent) => void | Promise<void>;

const KINDS = new Set(["supervisor", "worker", "dispatcher", "scheduler"]);
const ACTIONS = new Set(["start", "stop", "exit", "*"]);

export class Hooks {
  #hooks: Array<{ name: string; fn: HookFn }> = [];
  readonly #report: (error: unknown, context: RuntimeErrorContext) => void;

  constructor(report: (error: unknown, context: RuntimeErrorContext) => void) {
    this.#report = report;
  }

  on(name: HookName, fn: HookFn): () => void {
    const [kind, action] = String(name).split(".");
    if (!KINDS.has(kind) || !ACTIONS.has(action)) {
      throw new ConfigError(`hook name ${JSON.stringify(name)} is not one of <supervisor|worker|dispatcher|scheduler>.<start|stop|exit|*>`);
    }
    if (typeof fn !== "function") throw new ConfigError(`hook ${name}: handler must be a function`);
    const entry = { name, fn };
    this.#hooks.push(entry);
    return () => {
      this.#hooks = this.#hooks.filter((h) => h !== entry);
    };
  }

  async emit(event: HookEvent): Promise<void> {
    for (const hook of [...this.#hooks]) {
      if (hook.name !== event.name && hook.name !== `${event.kind}.*`) continue;
      try {
        await hook.fn(event);
      } catch (error) {
        this.#report(error, { operation: `hook ${hook.name}`, processName: event.processName });
      }
    }
  }
}
