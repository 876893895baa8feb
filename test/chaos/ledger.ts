/**
 * The chaos suite's ledger: one row per execution of a job, written by the task
 * itself (inside a worker isolate) in the same database as the queue, on a
 * connection of its own. The suite reads it at the end to find overlapping and
 * duplicate runs. SQL here is test code, not Stint's: Stint's drivers never see it.
 *
 *   chaos_ledger(exec_id, job_id, attempt, pid, isolate, started_at, ended_at, outcome)
 *
 * A row is inserted when the handler starts and completed when it ends (ended_at,
 * outcome "ok"/"error"); a row left with ended_at NULL belongs to an execution
 * that died with its process (or its isolate) or could not reach the database.
 */

import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

export interface LedgerRow {
  execId: string;
  jobId: string;
  attempt: number;
  pid: number;
  /** The isolate that ran it (random per isolate). */
  isolate: string;
  startedAt: number;
  endedAt: number | null;
  outcome: string | null;
}

export interface Ledger {
  /** Creates the table (idempotent). */
  setup(): Promise<void>;
  start(row: { execId: string; jobId: string; attempt: number; pid: number; isolate: string; startedAt: number }): Promise<void>;
  end(execId: string, endedAt: number, outcome: string): Promise<void>;
  rows(): Promise<LedgerRow[]>;
  close(): Promise<void>;
}

export function dialectOf(url: string): "postgres" | "libsql" | "mysql" | "files" {
  if (url.startsWith("ledger-dir:")) return "files";
  if (/^postgres(ql)?:/.test(url)) return "postgres";
  if (/^(mysql|mariadb):/.test(url)) return "mysql";
  return "libsql";
}

/** A ledger client; `pool` is how many connections it may hold (an isolate needs few). */
export async function openLedger(url: string, pool = 2): Promise<Ledger> {
  const dialect = dialectOf(url);
  if (dialect === "postgres") return await openPostgres(url, pool);
  if (dialect === "mysql") return await openMysql(url, pool);
  if (dialect === "files") return openFiles(url.slice("ledger-dir:".length));
  return await openLibsql(url);
}

const COLUMNS = "exec_id, job_id, attempt, pid, isolate, started_at, ended_at, outcome";

function toRow(r: Record<string, unknown>): LedgerRow {
  return {
    execId: String(r.exec_id),
    jobId: String(r.job_id),
    attempt: Number(r.attempt),
    pid: Number(r.pid),
    isolate: String(r.isolate ?? ""),
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null || r.ended_at === undefined ? null : Number(r.ended_at),
    outcome: r.outcome === null || r.outcome === undefined ? null : String(r.outcome),
  };
}

async function openPostgres(url: string, pool: number): Promise<Ledger> {
  const { default: postgres } = await import("postgres");
  // Its own application_name, so the terminate fault (which cuts "stint" connections) spares it;
  // idle_timeout so an idle isolate holds no connection (and no timer keeps a process up).
  const sql = postgres(url, {
    max: pool,
    idle_timeout: 2,
    connect_timeout: 5,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: "chaos-ledger" },
  });
  return {
    async setup() {
      await sql.unsafe(
        `CREATE TABLE IF NOT EXISTS chaos_ledger (exec_id text PRIMARY KEY, job_id text NOT NULL,
          attempt int NOT NULL, pid int NOT NULL, isolate text, started_at bigint NOT NULL, ended_at bigint, outcome text)`,
      );
    },
    async start(r) {
      await sql`INSERT INTO chaos_ledger (exec_id, job_id, attempt, pid, isolate, started_at)
        VALUES (${r.execId}, ${r.jobId}, ${r.attempt}, ${r.pid}, ${r.isolate}, ${r.startedAt}) ON CONFLICT (exec_id) DO NOTHING`;
    },
    async end(execId, endedAt, outcome) {
      await sql`UPDATE chaos_ledger SET ended_at = ${endedAt}, outcome = ${outcome} WHERE exec_id = ${execId}`;
    },
    async rows() {
      return (await sql.unsafe(`SELECT ${COLUMNS} FROM chaos_ledger`)).map(toRow);
    },
    async close() {
      await sql.end({ timeout: 1 });
    },
  };
}

async function openMysql(url: string, pool: number): Promise<Ledger> {
  const mysql = await import("mysql2/promise");
  // maxIdle 0 + idleTimeout: an idle isolate holds no connection (as idle_timeout on PostgreSQL).
  const conn = mysql.createPool({
    uri: url.replace(/^mariadb:/, "mysql:"),
    connectionLimit: pool,
    connectTimeout: 5000,
    maxIdle: 0,
    idleTimeout: 2000,
  });
  return {
    async setup() {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS chaos_ledger (exec_id varchar(64) PRIMARY KEY, job_id varchar(64) NOT NULL,
          attempt int NOT NULL, pid int NOT NULL, isolate varchar(16) NULL, started_at bigint NOT NULL, ended_at bigint NULL, outcome varchar(16) NULL)`,
      );
    },
    async start(r) {
      await conn.query(
        "INSERT IGNORE INTO chaos_ledger (exec_id, job_id, attempt, pid, isolate, started_at) VALUES (?, ?, ?, ?, ?, ?)",
        [r.execId, r.jobId, r.attempt, r.pid, r.isolate, r.startedAt],
      );
    },
    async end(execId, endedAt, outcome) {
      await conn.query("UPDATE chaos_ledger SET ended_at = ?, outcome = ? WHERE exec_id = ?", [endedAt, outcome, execId]);
    },
    async rows() {
      const [rows] = await conn.query(`SELECT ${COLUMNS} FROM chaos_ledger`);
      return (rows as Record<string, unknown>[]).map(toRow);
    },
    async close() {
      await conn.end();
    },
  };
}

/**
 * `ledger-dir:<dir>`: the same rows as lines appended to one file per process
 * (`S <exec> <job> <attempt> <pid> <start> <isolate>`, `E <exec> <end> <outcome>`). Used on libSQL,
 * where a second libSQL client writing the queue's file from inside a worker isolate stalled
 * every writer of the file for tens of seconds (see test/README.md), which would measure the
 * ledger rather than Stint. A synchronous append survives kill -9 of its process.
 */
function openFiles(dir: string): Ledger {
  const file = () => join(dir, `ledger-${process.pid}.log`);
  return {
    setup() {
      mkdirSync(dir, { recursive: true });
      return Promise.resolve();
    },
    start(r) {
      appendFileSync(file(), `S ${r.execId} ${r.jobId} ${r.attempt} ${r.pid} ${r.startedAt} ${r.isolate}\n`);
      return Promise.resolve();
    },
    end(execId, endedAt, outcome) {
      appendFileSync(file(), `E ${execId} ${endedAt} ${outcome}\n`);
      return Promise.resolve();
    },
    rows() {
      const rows = new Map<string, LedgerRow>();
      const ends: string[][] = [];
      for (const name of readdirSync(dir).filter((n) => n.startsWith("ledger-"))) {
        for (const line of readFileSync(join(dir, name), "utf8").split("\n")) {
          const f = line.split(" ");
          if (f[0] === "S" && f.length === 7) {
            rows.set(f[1], {
              execId: f[1],
              jobId: f[2],
              attempt: Number(f[3]),
              pid: Number(f[4]),
              isolate: f[6],
              startedAt: Number(f[5]),
              endedAt: null,
              outcome: null,
            });
          } else if (f[0] === "E" && f.length === 4) ends.push(f);
        }
      }
      for (const [, execId, endedAt, outcome] of ends) {
        const row = rows.get(execId);
        if (row) Object.assign(row, { endedAt: Number(endedAt), outcome });
      }
      return Promise.resolve([...rows.values()]);
    },
    close: () => Promise.resolve(),
  };
}

async function openLibsql(url: string): Promise<Ledger> {
  const { createClient } = await import("@libsql/client");
  const client = createClient({ url });
  // The file is shared with Stint's writers in several processes. A long native busy wait
  // here would win the write lock over Stint's short waits and asynchronous retries every
  // time (starving its heartbeats); like Stint, wait briefly and retry (persist() in tasks.ts).
  await client.execute("PRAGMA busy_timeout = 20");
  return {
    async setup() {
      await client.execute(
        `CREATE TABLE IF NOT EXISTS chaos_ledger (exec_id text PRIMARY KEY, job_id text NOT NULL,
          attempt integer NOT NULL, pid integer NOT NULL, isolate text, started_at integer NOT NULL, ended_at integer, outcome text)`,
      );
    },
    async start(r) {
      await client.execute({
        sql: "INSERT OR IGNORE INTO chaos_ledger (exec_id, job_id, attempt, pid, isolate, started_at) VALUES (?, ?, ?, ?, ?, ?)",
        args: [r.execId, r.jobId, r.attempt, r.pid, r.isolate, r.startedAt],
      });
    },
    async end(execId, endedAt, outcome) {
      await client.execute({
        sql: "UPDATE chaos_ledger SET ended_at = ?, outcome = ? WHERE exec_id = ?",
        args: [endedAt, outcome, execId],
      });
    },
    async rows() {
      return (await client.execute(`SELECT ${COLUMNS} FROM chaos_ledger`)).rows.map((r) =>
        toRow(r as unknown as Record<string, unknown>)
      );
    },
    close() {
      client.close();
      return Promise.resolve();
    },
  };
}
