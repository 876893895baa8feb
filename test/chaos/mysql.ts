/**
 * The chaos suite's private MariaDB, started by test/support/servers.sh (`up DIR mysql`, on a
 * free port of 127.0.0.1, everything under DIR) and stopped by it (`down DIR`). The restart
 * fault is a crash: kill -9 of mariadbd by its pid file, then mariadbd again on the same port
 * and data directory, with the arguments servers.sh uses (kept in step with it by hand) except
 * one: --innodb-flush-log-at-trx-commit=2 instead of 0. With 0 a crash of the server loses up
 * to a second of acknowledged commits (a job's success, a ledger row), which would be MariaDB
 * forgetting, not Stint; 2 writes the log to the OS at each commit, which survives a killed
 * server (only an OS crash would lose it). The first server gets the same through SET GLOBAL.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { deadline } from "./faults.ts";
import { freePort } from "../postgres/server.ts";

const SERVERS_SH = join(dirname(fileURLToPath(import.meta.url)), "../support/servers.sh");
const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

export interface PrivateMysql {
  port: number;
  dir: string;
  /**
   * A database with two users of its own: `url` for the queue, `ledgerUrl` for the ledger (a
   * separate user, so the kill-connections fault, which picks the queue's user, spares it).
   */
  createDatabase(name: string): Promise<{ url: string; ledgerUrl: string; queueUser: string }>;
  /** An admin connection (mysql2/promise), for the faults; the caller ends it. */
  admin(): Promise<any>;
  /** kill -9 of mariadbd, then mariadbd again on the same port and data directory. */
  restartHard(): Promise<void>;
  /** Stops the server (kill -9, then servers.sh down, which removes DIR); safe to call twice. */
  destroy(): void;
}

/** Why a private MariaDB cannot be started here, or undefined when it can. */
export function mysqlSkip(): string | undefined {
  try {
    execFileSync("sh", ["-c", "command -v mariadbd"], { stdio: "ignore", env: { ...process.env, PATH } });
    return undefined;
  } catch {
    // servers.sh installs it with apt-get when run as root.
    return isRoot() ? undefined : "no mariadbd on the PATH (install mariadb-server)";
  }
}

function sh(args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { timeout: timeoutMs, killSignal: "SIGKILL" as const, env: { ...process.env, PATH, ...env } };
    execFile("bash", [SERVERS_SH, ...args], options, (error, out, err) => {
      if (error) reject(new Error(`servers.sh ${args.join(" ")}: ${err || error.message}`));
      else resolve(out);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startMysql(): Promise<PrivateMysql> {
  // CHAOS_PG_BASE: test/run.sh's directory, which it sweeps should the suite itself be SIGKILLed.
  const base = mkdtempSync(join(process.env.CHAOS_PG_BASE || tmpdir(), "stint-chaos-my-"));
  const dir = join(base, "mysql");
  const pidFile = join(dir, "mysqld.pid");
  const pidOf = () => {
    try {
      return Number(readFileSync(pidFile, "utf8").trim()) || null;
    } catch {
      return null;
    }
  };
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    const pid = pidOf();
    if (pid && alive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    try {
      execFileSync("bash", [SERVERS_SH, "down", base], { stdio: "ignore", timeout: 40_000, env: { ...process.env, PATH } });
    } catch { /* removed below */ }
    rmSync(base, { recursive: true, force: true });
  };
  try {
    // A free port to start from (servers.sh moves up past busy ones), away from the dev
    // server's and CI's range around 33079.
    await sh(["up", base, "mysql"], 180_000, { MY_PORT: String(await freePort()) });
  } catch (error) {
    destroy();
    throw error;
  }
  const env = readFileSync(join(base, "env.sh"), "utf8");
  const adminUrl = /MYSQL_ADMIN_URL=(\S+)/.exec(env)?.[1];
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(env)?.[1]);
  if (!adminUrl || !port) {
    destroy();
    throw new Error(`servers.sh wrote no MYSQL_ADMIN_URL in ${base}/env.sh`);
  }
  const mysql = await import("mysql2/promise");
  // root over the server's own socket (servers.sh's admin user has no GRANT OPTION).
  const admin = () => mysql.createConnection({ socketPath: join(dir, "mysqld.sock"), user: "root", connectTimeout: 5000 });
  const adminQuery = async (sql: string, args: unknown[] = []) => {
    const c = await admin();
    try {
      return (await c.query(sql, args))[0];
    } finally {
      await deadline(5000, c.end().catch(() => {}));
    }
  };
  try {
    await adminQuery("SET GLOBAL innodb_flush_log_at_trx_commit = 2");
  } catch (error) {
    destroy();
    throw error;
  }
  const mariadbd = execFileSync("sh", ["-c", "command -v mariadbd"], { env: { ...process.env, PATH } }).toString().trim();
  const args = [
    "--no-defaults",
    ...(isRoot() ? ["--user=mysql"] : []),
    `--datadir=${dir}/data`,
    `--socket=${dir}/mysqld.sock`,
    `--pid-file=${pidFile}`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    `--log-error=${dir}/error.log`,
    "--innodb-flush-log-at-trx-commit=2",
    "--max-connections=200",
  ];
  let restarts = 0;
  return {
    port,
    dir,
    async createDatabase(name) {
      const q = `${name}_q`, l = `${name}_l`;
      await adminQuery(`CREATE DATABASE ${name}`);
      for (const user of [q, l]) {
        await adminQuery(`CREATE USER '${user}'@'%' IDENTIFIED BY 'chaos'`);
        await adminQuery(`GRANT ALL ON ${name}.* TO '${user}'@'%'`);
      }
      return {
        url: `mysql://${q}:chaos@127.0.0.1:${port}/${name}`,
        ledgerUrl: `mysql://${l}:chaos@127.0.0.1:${port}/${name}`,
        queueUser: q,
      };
    },
    admin,
    async restartHard() {
      const pid = pidOf();
      if (!pid) throw new Error(`no pid in ${pidFile}`);
      process.kill(pid, "SIGKILL");
      const goneBy = Date.now() + 10_000;
      while (alive(pid)) {
        if (Date.now() > goneBy) throw new Error(`mariadbd ${pid} still alive 10 s after kill -9`);
        await sleep(20);
      }
      // Detached, no pipe of ours (the suite must not wait on it), as servers.sh does with setsid nohup.
      const child = spawn(mariadbd, args, { detached: true, stdio: "ignore", env: { ...process.env, PATH } });
      child.unref();
      restarts++;
      const upBy = Date.now() + 60_000;
      for (;;) {
        try {
          await adminQuery("SELECT 1");
          return;
        } catch (error) {
          if (child.exitCode !== null) throw new Error(`mariadbd exited (${child.exitCode}) on restart ${restarts}; see ${dir}/error.log`);
          if (Date.now() > upBy) throw new Error(`mariadbd not answering 60 s after restart: ${(error as Error).message}`);
          await sleep(100);
        }
      }
    },
    destroy,
  };
}
