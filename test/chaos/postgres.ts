/**
 * The chaos suite's private PostgreSQL: its own data directory under a temp dir,
 * bound to 127.0.0.1 on a free port, run as the postgres user when we are root
 * (as test/postgres/server.ts and test/support/servers.sh do). Everything is
 * asynchronous, so a restart never stalls the suite's own event loop (which
 * times the children's exits).
 */
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { binDir, freePort, uidOf } from "../postgres/server.ts";

export interface PrivatePostgres {
  /** Base URL without a database name: append one. */
  base: string;
  dir: string;
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl restart -m immediate`: a crash and a restart, connections cut. */
  restartImmediate(): Promise<void>;
  /** Stops the server (immediate) and removes its files; safe to call twice. */
  destroy(): void;
}

// Not always on the PATH of a non-login root shell.
const RUNUSER = ["/usr/sbin/runuser", "/sbin/runuser"].find((p) => existsSync(p)) ?? "runuser";
const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** Why a private server cannot be started here, or undefined when it can. */
export function postgresSkip(): string | undefined {
  if (!binDir()) return "no PostgreSQL binaries (set PG_BIN to the directory holding pg_ctl)";
  if (isRoot() && uidOf("postgres") === null) {
    // As test/support/servers.sh does on a fresh machine: PostgreSQL refuses to run as root.
    try {
      execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
        "--shell", "/usr/sbin/nologin", "postgres"], { stdio: "ignore", env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    } catch { /* reported below */ }
    if (uidOf("postgres") === null) return "running as root, and no postgres user to run the server as (useradd failed)";
  }
  return undefined;
}

export async function startPostgres(): Promise<PrivatePostgres> {
  const bin = binDir()!;
  const root = isRoot();
  // CHAOS_PG_BASE: test/run.sh's directory, which it sweeps should the suite itself be SIGKILLed.
  const dir = mkdtempSync(join(process.env.CHAOS_PG_BASE || tmpdir(), "stint-chaos-pg-"));
  chmodSync(dir, 0o755);
  if (root) chownSync(dir, uidOf("postgres")!, -1);
  const data = join(dir, "data");
  const port = await freePort();
  const argv = (tool: string, args: string[]): [string, string[]] =>
    root ? [RUNUSER, ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];
  const run = (tool: string, ...args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const [cmd, list] = argv(tool, args);
      // No pipe of ours reaches the server (pg_ctl -l), or the call would wait for the server to exit.
      execFile(cmd, list, { timeout: 75_000, killSignal: "SIGKILL" }, (error, _out, err) => {
        if (error) reject(new Error(`${tool} ${args.join(" ")}: ${err || error.message}`));
        else resolve();
      });
    });
  // fsync=off is safe here (the OS does not crash, only PostgreSQL does), but not
  // synchronous_commit=off: an immediate restart loses the WAL still in shared memory, i.e.
  // commits already acknowledged (a job's success, a ledger row), which would be PostgreSQL
  // forgetting, not Stint.
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off ` +
    `-c full_page_writes=off -c max_connections=300`;
  const ctl = (...args: string[]) => run("pg_ctl", "-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", ...args);
  let running = false;
  const destroy = () => {
    if (running) {
      try {
        const [cmd, list] = argv("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]);
        execFileSync(cmd, list, { stdio: "ignore" });
      } catch { /* already gone */ }
      running = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync");
    await ctl("-o", options, "start");
    running = true;
  } catch (error) {
    destroy();
    throw error;
  }
  const base = `postgres://postgres@127.0.0.1:${port}`;
  return {
    base,
    dir,
    async createDatabase(name) {
      await run("psql", "-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
        "-qc", `CREATE DATABASE ${name}`);
      return `${base}/${name}`;
    },
    async restartImmediate() {
      await ctl("-m", "immediate", "-o", options, "restart");
    },
    destroy,
  };
}
