/**
 * The databases the contract suite runs against. Every contract test file loops
 * over `targets` and skips, with the reason, the ones that are not available:
 *
 *   libsql    a fresh temporary SQLite file per url() call (removed on release)
 *   postgres  PG_URL, once "postgres" is listed in STINT_DRIVERS_READY
 *   mysql     MYSQL_URL, once "mysql" is listed in STINT_DRIVERS_READY
 *
 * and, for the contract files that exercise what the PostgreSQL driver does in
 * its own statements (jobInsertMany, jobClaim, jobFinishMany, jobPromoteDue),
 * `targetsWithEngine` adds
 *
 *   postgres-engine  PG_URL (when "postgres" runs), through the shared engine's
 *                    statements alone (drivers/postgres/mod.ts
 *                    createPostgresEngineDriver): the same tests must pass on
 *                    both, so the fast path cannot drift from the engine.
 *
 * STINT_DRIVERS_READY is a comma or space separated list, all three by default.
 * Shared servers are not reset between tests: every test isolates itself by
 * using its own random backend alias (see harness.ts).
 */
import { mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Driver } from "../../src/driver.ts";
import { createPostgresEngineDriver } from "../../drivers/postgres/mod.ts";
import { env } from "./env.ts";

export interface Target {
  readonly name: "libsql" | "postgres" | "mysql" | "postgres-engine";
  /** The database behind it (postgres-engine's is PostgreSQL). */
  readonly dialect: "libsql" | "postgres" | "mysql";
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
  dialect: "libsql",
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
    dialect: name,
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

/**
 * The engine target's URLs are PG_URL with this startup parameter (harmless:
 * it names the session in pg_stat_activity), so the harness can tell them
 * apart and give their Stint the engine-only driver.
 */
const ENGINE_MARK = "application_name=stint_engine";

const postgres = targets[1];
const postgresEngine: Target = {
  name: "postgres-engine",
  dialect: "postgres",
  url() {
    const url = postgres.url() as string;
    return `${url}${url.includes("?") ? "&" : "?"}${ENGINE_MARK}`;
  },
  release() {},
  get skip() {
    return postgres.skip;
  },
};

/** Every target, and the PostgreSQL engine-only one. */
export const targetsWithEngine: Target[] = [...targets, postgresEngine];

/** The driver a Stint on `url` must be given (the engine-only one for postgres-engine's URLs), or undefined. */
export function driverFor(url: string, statementTimeoutMs?: number): Promise<Driver> | undefined {
  if (!url.includes(ENGINE_MARK)) return undefined;
  return createPostgresEngineDriver({ url, statementTimeoutMs });
}

/** The runtime running the tests. */
export function runtimeName(): "deno" | "bun" | "node" {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno ? "deno" : g.Bun ? "bun" : "node";
}

/**
 * Targets for the long scenario files (multi-step jobs, children, fan-out,
 * kill -9 and two-process tests, worker-mode variants). `npm test` has 20
 * minutes on CI for three runtimes, so each database runs them under one
 * runtime at least: Deno on libSQL and MariaDB, Bun on libSQL and PostgreSQL
 * (`wide`; the kill -9 and fan-out files, `narrow`, on libSQL and PostgreSQL
 * too), Node on none (its other files cover it). The others are skipped with
 * this reason. STINT_FULL=1 runs every target on every runtime.
 */
export function scenarioTargets(list: Target[], _scope: "wide" | "narrow" = "wide"): Target[] {
  if (env("STINT_FULL") === "1") return list;
  const runtime = runtimeName();
  const keep = runtime === "deno" ? ["libsql", "mysql"] : runtime === "bun" ? ["libsql", "postgres"] : [];
  return list.map((t) =>
    keep.includes(t.name) || t.skip ? t : { ...t, skip: `long scenario: run by another runtime in CI (STINT_FULL=1 runs it here)` }
  );
}
