/**
 * A throwaway PostgreSQL server of the test's own, for tests that stop and
 * restart it (never the shared one). It needs the machine's PostgreSQL binaries
 * and, when run as root, `runuser` to run them as the postgres user.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { env } from "../support/env.ts";

/** The PostgreSQL binaries: PG_BIN (or servers.sh's PGBIN), else the newest /usr/lib/postgresql/N/bin. */
export function binDir(): string | null {
  const configured = env("PG_BIN") ?? env("PGBIN");
  if (configured) return existsSync(join(configured, "pg_ctl")) ? configured : null;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "pg_ctl"))).sort((a, b) =>
    Number(b) - Number(a)
  );
  return versions.length ? join(root, versions[0], "bin") : null;
}

export function uidOf(user: string): number | null {
  try {
    return Number(execFileSync("id", ["-u", user], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim());
  } catch {
    return null;
  }
}

/** Why a throwaway server cannot be started here, or undefined when it can. */
export function throwawaySkip(): string | undefined {
  if (!binDir()) return "no PostgreSQL binaries (set PG_BIN to the directory holding pg_ctl)";
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (root && uidOf("postgres") === null) return "running as root, and there is no postgres user to run the server as";
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Throwaway {
  url: string;
  host: string;
  stop(): void;
  /** Stops the server abruptly, like a crash: no checkpoint, connections cut. */
  kill(): void;
  start(): void;
  restart(): void;
  /** Stops the server and removes its files. */
  destroy(): void;
}

export async function startThrowaway(): Promise<Throwaway> {
  const bin = binDir()!;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const dir = mkdtempSync(join(tmpdir(), "stint-pg-"));
  chmodSync(dir, 0o755);
  if (root) chownSync(dir, uidOf("postgres")!, -1);
  const data = join(dir, "data");
  const port = await freePort();
  const run = (tool: string, ...args: string[]) =>
    execFileSync(root ? "runuser" : join(bin, tool), root ? ["-u", "postgres", "--", join(bin, tool), ...args] : args, {
      // The server inherits no pipe of ours (pg_ctl -l), or this call would wait for it to exit.
      stdio: ["ignore", "ignore", "pipe"],
    });
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off`;
  const ctl = (...args: string[]) =>
    run("pg_ctl", "-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", ...args);
  run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale");
  ctl("-o", options, "start");
  let running = true;
  // A test that times out never reaches its finally: the server still goes when the process does.
  const onExit = () => {
    if (!running) return;
    try {
      ctl("-m", "immediate", "stop");
    } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", onExit);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    host: `127.0.0.1:${port}`,
    stop() {
      ctl("-m", "fast", "stop");
      running = false;
    },
    kill() {
      ctl("-m", "immediate", "stop");
      running = false;
    },
    start() {
      ctl("-o", options, "start");
      running = true;
    },
    restart() {
      ctl("-m", "fast", "-o", options, "restart");
      running = true;
    },
    destroy() {
      process.off("exit", onExit);
      try {
        if (running) ctl("-m", "immediate", "stop");
        running = false;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
