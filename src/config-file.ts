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

/** Parses YAML text into options for one backend (`backend`, or the only/“default” one). */
export function parseConfigFile(text: string, fileUrl: string, backend?: string): StintOptions {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new ConfigError(`${fileUrl}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(`${fileUrl}: the top level must be a mapping`);
  let options = doc as Record<string, unknown>;
  if ("backends" in options) {
    const backends = options.backends as Record<string, unknown>;
    if (!backends || typeof backends !== "object" || Array.isArray(backends)) {
      throw new ConfigError(`${fileUrl}: backends must be a mapping of alias to options`);
    }
    const names = Object.keys(backends);
    const chosen = backend ?? (names.length === 1 ? names[0] : "default");
    if (!(chosen in backends)) {
      throw new ConfigError(`${fileUrl}: no backend ${JSON.stringify(chosen)} (has: ${names.join(", ") || "none"})`);
    }
    options = { ...(backends[chosen] as Record<string, unknown>), backend: chosen };
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
