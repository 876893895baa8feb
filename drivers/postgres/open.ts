/**
 * Opening the postgres.js pool: URL checks, the options the queue needs, and a
 * probe query so that a bad URL, an unreachable server, a refused login or a
 * missing database fails at createStint with a DriverError naming host:port —
 * never later inside a runner. Passwords never appear in messages.
 *
 * Options in the URL's query (`?max=20&connect_timeout=3&statement_timeout=…`)
 * win over the defaults here, as postgres.js reads them.
 */
import postgres from "postgres";
import type { DriverOptions } from "../../src/driver.ts";
import { DriverError } from "../../src/errors.ts";
import { hasUnencodedPassword, redactUrl } from "../../src/redact.ts";
import { handshake } from "./handshake.ts";

/** access.ts's Sql, spelled out here: access.ts imports this file, so this one may not import it back. */
type Sql = postgres.Sql<any>;

const CONNECT_TIMEOUT_S = 10;

export interface Opened {
  sql: Sql;
  /**
   * The pool for the hot statements (insert, claim, finish, promote), whose
   * sessions use PostgreSQL's cached generic plans. Left to choose, PostgreSQL
   * re-plans those CTE statements on every call (its cost estimate favours a
   * custom plan), and planning was a third of the database's time per job.
   * Every statement on it is written for a generic plan: no `LIMIT $n`.
   *
   * Its sessions also run with `enable_seqscan = off`. A queue's tables swing
   * from empty to a hundred thousand rows between two autovacuum analyzes, and
   * a plan made while the statistics said "empty" scanned the whole jobs table
   * for every claim (a 60,000-job drain fell from 25,000 to 3,000 jobs/s). For
   * the same reason they run with `enable_bitmapscan = off`: a claim planned
   * while the ready table looked small read every ready row through a bitmap
   * and sorted them all to take the first 255 (10-30 ms a claim on a 20,000-job
   * queue, against 1-3 ms walking the index in order and stopping at LIMIT).
   * Every hot statement reaches its rows by index probes or an ordered index
   * walk, so no good plan is lost.
   */
  hot: Sql;
  /** The options the listener's own connection reuses. */
  options: postgres.Options<any>;
  /** host:port, for messages. */
  where: string;
}

/** The URL without its password, for messages. */
export const redact = redactUrl;

/** host:port of the URL as postgres.js reads it (several hosts are comma-separated). */
function hostsOf(url: string): { where: string; query: URLSearchParams; named: boolean } {
  // Up to the last `@` of the authority, as URL parsers read it: a password may hold a raw `@`.
  const m = /^postgres(?:ql)?:\/\/(?:[^/?#]*@)?([^/?#]*)/i.exec(url);
  if (hasUnencodedPassword(url)) {
    // The host part read below would be the password's start: say what is wrong instead.
    throw new DriverError(
      `invalid PostgreSQL URL ${JSON.stringify(redact(url))}: the password holds a "/", "?" or "#"; percent-encode it`,
    );
  }
  if (!m) {
    throw new DriverError(
      `invalid PostgreSQL URL ${JSON.stringify(redact(url))}: expected postgres://user:password@host:port/database`,
    );
  }
  const hosts = decodeURIComponent(m[1]);
  let parsed: URL;
  try {
    parsed = new URL(url.replace(m[1], hosts.split(",")[0]));
  } catch {
    // The parser's own message repeats the whole URL, password included: not passed on.
    throw new DriverError(
      `invalid PostgreSQL URL ${JSON.stringify(redact(url))}: cannot parse it (host part ${JSON.stringify(hosts)})`,
    );
  }
  const list = hosts === "" ? [] : hosts.split(",");
  for (const h of list) {
    const port = h.includes(":") ? h.slice(h.lastIndexOf(":") + 1) : "";
    if (port !== "" && !/^\d{1,5}$/.test(port)) {
      throw new DriverError(`invalid PostgreSQL URL ${JSON.stringify(redact(url))}: bad port ${JSON.stringify(port)}`);
    }
  }
  const where = list.length === 0
    ? `${parsed.searchParams.get("host") ?? "localhost"}:${parsed.port || "5432"}`
    : list.map((h) => (h.includes(":") ? h : `${h}:5432`)).join(",");
  // One host with its port written in the URL. Otherwise postgres.js fills the gaps from
  // PGHOST and PGPORT, which `where`'s defaults (localhost, 5432) need not match.
  const named = list.length === 1 && /^(\[[^\]]+\]|[^:]+):\d+$/.test(list[0]) && !parsed.searchParams.has("host");
  return { where, query: parsed.searchParams, named };
}

/**
 * Ends a pool for good. postgres.js opens a connection again after a delay
 * (its backoff: up to 1 s here, or what the URL's `backoff=` says), and
 * `end()` does not cancel that timer: it fired after close and opened a
 * connection nobody would end, idle on the server and holding the process open
 * forever. Refusing new sockets first makes any such late attempt fail before it
 * opens anything; connections already open end as usual.
 */
export async function endPool(sql: Pick<Sql, "end" | "options">, timeoutS: number): Promise<void> {
  (sql.options as { socket?: unknown }).socket = () => {
    throw new DriverError("the PostgreSQL driver is closed");
  };
  await sql.end({ timeout: timeoutS });
}

function reason(error: unknown): string {
  const e = error as { code?: string; message?: string };
  switch (e?.code) {
    case "ECONNREFUSED":
      return "connection refused (is the server running and listening there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "unknown host";
    case "CONNECT_TIMEOUT":
      return "no answer before the connect timeout";
    case "NO_POSTGRES_ANSWER":
      return "no PostgreSQL answer before the connect timeout (does a PostgreSQL server listen there?)";
    case "28P01":
    case "28000":
      return `authentication failed: ${e.message}`;
    case "3D000":
      return e.message ?? "database does not exist";
    default:
      return e?.message ?? String(error);
  }
}

export async function openPool(options: DriverOptions): Promise<Opened> {
  const { where, query, named } = hostsOf(options.url);
  const int8 = { to: 20, from: [20], parse: (x: string) => Number(x), serialize: (x: unknown) => String(x) };
  // JIT off: the queue's statements are short, and a stale row estimate can push one past
  // jit_above_cost, where compiling it took 150-250 ms per execution (seen on claims and on
  // the orphan check) against the statement's own few milliseconds.
  const connection: Record<string, string> = { application_name: "stint", jit: "off" };
  if (options.statementTimeoutMs !== undefined) connection.statement_timeout = String(options.statementTimeoutMs);
  const pgOptions = {
    connect_timeout: query.has("connect_timeout") ? undefined : CONNECT_TIMEOUT_S,
    fetch_types: false,
    prepare: true,
    types: { int8 },
    connection,
    // Server notices ("relation already exists, skipping") are not the app's business.
    onnotice: () => {},
    // Seconds before a connection that failed tries again. postgres.js backs off up to 20 s, and
    // queries queued on that connection wait it out: while the server was down a heartbeat or a
    // stop's last statements hung for tens of seconds instead of failing. At most 1 s keeps a
    // down server's "connection refused" fast, at a few attempts a second per pool.
    // A `backoff` in the URL wins, like every option there (postgres.js prefers the options given here).
    backoff: query.has("backoff") ? undefined : (retries: number) => Math.min(0.05 * 2 ** retries, 1),
  } as unknown as postgres.Options<any>;
  for (const [k, v] of Object.entries(pgOptions)) if (v === undefined) delete (pgOptions as Record<string, unknown>)[k];
  let sql: Sql;
  try {
    sql = postgres(options.url, pgOptions) as unknown as Sql;
  } catch (error) {
    throw new DriverError(
      `invalid PostgreSQL URL ${JSON.stringify(redact(options.url))}: ${redact((error as Error).message)}`,
    );
  }
  // postgres.js connects again at once, without end, when a connection closes before the server's first
  // answer: a port speaking another protocol took it through 10,000 connections in 30 s while createStint
  // hung. The probe gets the connect timeout (and a little) of its own; ending the pool stops the attempts.
  const timeoutS = Number(query.get("connect_timeout") ?? CONNECT_TIMEOUT_S) || CONNECT_TIMEOUT_S;
  const single = named ? /^(\[[^\]]+\]|[^,:]+):(\d+)$/.exec(where) : null;
  if (single) {
    const spoken = await handshake(single[1].replace(/^\[|\]$/g, ""), Number(single[2]), timeoutS * 1000);
    if (spoken === "other" || spoken === "closed" || spoken === "timeout" || spoken === "unreachable") {
      await endPool(sql, 0).catch(() => {});
      const what = spoken === "other"
        ? "answers, but not in the PostgreSQL protocol"
        : spoken === "closed"
        ? "closes the connection at once"
        : spoken === "timeout"
        ? "accepts the connection but gives no answer before the connect timeout"
        : "accepts no connection within the connect timeout";
      const hint = spoken === "unreachable" ? "is the host reachable, the port open?" : "is it a PostgreSQL port?";
      throw new DriverError(`cannot connect to PostgreSQL at ${where}: the server there ${what} (${hint})`);
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error("no PostgreSQL answer"), { code: "NO_POSTGRES_ANSWER" })),
      timeoutS * 1000 + 500,
    );
  });
  const probe = sql.unsafe("SELECT 1");
  probe.catch(() => {}); // after the deadline, ending the pool rejects it: nobody listens then
  try {
    await Promise.race([probe, deadline]);
  } catch (error) {
    await endPool(sql, 0).catch(() => {});
    throw new DriverError(`cannot connect to PostgreSQL at ${where}: ${reason(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  // Connections open on first use, so an instance that never claims opens none here.
  const hot = postgres(options.url, {
    ...pgOptions,
    connection: {
      ...connection,
      plan_cache_mode: "force_generic_plan",
      enable_seqscan: "off",
      enable_bitmapscan: "off",
    },
  } as postgres.Options<any>) as unknown as Sql;
  return { sql, hot, options: pgOptions, where };
}
