/**
 * The databases the contract suite runs against. Every contract test file loops
 * over `targets` and skips, with the reason, the ones that are not available:
 *
 *   libsql    a fresh temporary SQLite file per url() call (removed on release)
 *   postgres  PG_URL, once "postgres" is listed in STINT_DRIVERS_READY
 *   mysql     MYSQL_URL, once "mysql" is listed in STINT_DRIVERS_READY
 *
 * STINT_DRIVERS_READY is a comma or space separated list, all three by default.
 * Shared servers are not reset between tests: every test isolates itself by
 * using its own random backend alias (see harness.ts).
 */
import { mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { env } from "./env.ts";

export interface Target {
  readonly name: "libsql" | "postgres" | "mysql";
  /** A database URL for one test (or a group of tests sharing one database). */
  url(): Promise<string> | string;
  /** Gives back what url() made (the libsql temp file); a no-op for servers. */
  release(url: string): Promise<void> | void;
  /** Why this target is skipped, or undefined when it runs. */
  readonly skip?: string;
}

export function readyDrivers(): Set<string> {
  return new Set((env("STINT_DRIVERS_READY") ?? "libsql postgres mysql").split(/[\s,]+/).filter(Boolean));
}

let tempDir: string | null = null;
let fileCounter = 0;

const libsql: Target = {
  name: "libsql",
  url() {
    tempDir ??= mkdtempSync(join(tmpdir(), "stint-test-"));
    return `file:${join(tempDir, `t${++fileCounter}-${crypto.randomUUID().slice(0, 8)}.db`)}`;
  },
  release(url) {
    const path = url.slice("file:".length);
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(path + suffix, { force: true });
    if (tempDir === null) return;
    try {
      rmdirSync(tempDir); // only succeeds once no other test's database is left in it
      tempDir = null;
    } catch {
      // still in use by another database of this run
    }
  },
  get skip() {
    return readyDrivers().has("libsql") ? undefined : `"libsql" is not listed in STINT_DRIVERS_READY`;
  },
};

function server(name: "postgres" | "mysql", variable: string): Target {
  return {
    name,
    url() {
      const url = env(variable);
      if (url === undefined) throw new Error(`${variable} is not set`);
      return url;
    },
    release() {},
    get skip() {
      if (env(variable) === undefined) return `${variable} is not set`;
      if (!readyDrivers().has(name)) {
        return `${JSON.stringify(name)} is not listed in STINT_DRIVERS_READY (${
          JSON.stringify(env("STINT_DRIVERS_READY") ?? "libsql postgres mysql")
        })`;
      }
      return undefined;
    },
  };
}

export const targets: Target[] = [libsql, server("postgres", "PG_URL"), server("mysql", "MYSQL_URL")];
