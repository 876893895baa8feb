/**
 * Configuration from YAML and the environment, merged over options given in
 * code. Precedence: CLI flags > env > YAML file > code. A YAML file is either a
 * flat mapping for one backend or `backends: { alias: { ... } }`; keys are the
 * same camelCase as createStint's options. A relative `tasks` path is resolved
 * against the YAML file.
 */
import { parse } from "yaml";
import type { StintOptions } from "./config.ts";
import { ConfigError } from "./errors.ts";

export interface EnvSource {
  env(name: string): string | undefined;
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** Parses YAML text into options for one backend (`backend`, or the only/“default” one). */
export function parseConfigFile(text: string, fileUrl: string, backend?: string): StintOptions {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    // The parser's message goes on with a code frame over several lines; its first line names the problem.
    const first = String((error as Error)?.message ?? error).split("\n")[0].trim().replace(/:$/, "");
    throw new ConfigError(`${fileUrl}: not valid YAML: ${first}`, { cause: error });
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isMapping(doc)) throw new ConfigError(`${fileUrl}: the top level must be a mapping`);
  let options = doc;
  if ("backends" in options) {
    // Keys beside `backends:` would apply to no backend at all: a url there would be silently ignored.
    const stray = Object.keys(options).filter((k) => k !== "backends");
    if (stray.length > 0) {
      throw new ConfigError(
        `${fileUrl}: ${stray.join(", ")} beside backends: (a file is either flat options for one backend or backends: { alias: { … } })`,
      );
    }
    const backends = options.backends;
    if (!isMapping(backends)) throw new ConfigError(`${fileUrl}: backends must be a mapping of alias to options`);
    const names = Object.keys(backends);
    if (names.length === 0) throw new ConfigError(`${fileUrl}: backends: is empty (give at least one alias with its url)`);
    const chosen = backend ?? (names.length === 1 ? names[0] : "default");
    if (!Object.hasOwn(backends, chosen)) {
      throw new ConfigError(`${fileUrl}: no backend ${JSON.stringify(chosen)} (has: ${names.join(", ")})`);
    }
    const chosenOptions = backends[chosen];
    // `a:` with nothing under it would run on the default file:stint.db instead of the database meant.
    if (!isMapping(chosenOptions) || Object.keys(chosenOptions).length === 0) {
      throw new ConfigError(`${fileUrl}: backend ${JSON.stringify(chosen)} is empty (expected a mapping of options with its url)`);
    }
    options = { ...chosenOptions, backend: chosen };
  } else if (backend !== undefined) {
    options = { ...options, backend };
  }
  if (typeof options.tasks === "string") options = { ...options, tasks: new URL(options.tasks, fileUrl).href };
  return options as StintOptions;
}

/** The environment's part: STINT_DATABASE_URL, STINT_MODE, STINT_BACKEND. */
export function envOverrides(source: EnvSource): Partial<StintOptions> {
  const out: Partial<StintOptions> = {};
  const url = source.env("STINT_DATABASE_URL");
  if (url) out.url = url;
  const mode = source.env("STINT_MODE");
  if (mode) {
    if (mode !== "worker" && mode !== "async") throw new ConfigError(`STINT_MODE: ${JSON.stringify(mode)} is not "worker" or "async"`);
    out.mode = mode;
  }
  const backend = source.env("STINT_BACKEND");
  if (backend) out.backend = backend;
  return out;
}

export function envFlag(source: EnvSource, name: string): boolean {
  const value = source.env(name);
  if (value === undefined || value === "") return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name}: ${JSON.stringify(value)} is not a boolean (use 1/0, true/false)`);
}
