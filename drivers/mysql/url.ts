/**
 * `mysql://user:password@host:port/database?options` → mysql2 pool options.
 *
 * Every problem is a DriverError that names the host (never the password), so a
 * typo fails at startup instead of on the first enqueue.
 */
import type { PoolOptions } from "mysql2/promise";
import { DriverError } from "../../src/errors.ts";
import { urlHost } from "../../src/redact.ts";

export interface MysqlTarget {
  /** `host:port` (or the socket path), for error messages. */
  label: string;
  database: string;
  pool: PoolOptions;
}

const OPTIONS = ["connectionLimit", "connectTimeout", "ssl", "socket"];

export function parseMysqlUrl(url: string): MysqlTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Name the host part if there is one, never the credentials before it. The parser's own
    // error repeats the whole URL, password included, so it is not kept as the cause.
    const host = urlHost(url);
    throw new DriverError(
      `mysql: cannot parse the database url${host ? ` for ${host}` : ""} ` +
        "(expected mysql://user:password@host:port/database)",
    );
  }
  const scheme = parsed.protocol.replace(/:$/, "").toLowerCase();
  if (scheme !== "mysql" && scheme !== "mariadb") {
    throw new DriverError(`mysql: the url scheme must be mysql: or mariadb:, got ${scheme}:`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = parsed.port === "" ? 3306 : Number(parsed.port);
  const socket = parsed.searchParams.get("socket");
  const label = socket ?? `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (!host && !socket) {
    throw new DriverError(`mysql: the url names no host (expected mysql://user:password@host:port/database)`);
  }
  const database = decode(parsed.pathname.replace(/^\//, ""), label);
  if (!database || database.includes("/")) {
    throw new DriverError(
      `mysql: the url for ${label} must name one database, as in mysql://user:password@${label}/app`,
    );
  }
  for (const key of parsed.searchParams.keys()) {
    if (!OPTIONS.includes(key)) {
      throw new DriverError(
        `mysql: unknown url option ${JSON.stringify(key)} for ${label} (known: ${OPTIONS.join(", ")})`,
      );
    }
  }
  const pool: PoolOptions = {
    host: socket ? undefined : host,
    port: socket ? undefined : port,
    socketPath: socket ?? undefined,
    user: decode(parsed.username, label) || undefined,
    password: decode(parsed.password, label) || undefined,
    database,
    charset: "utf8mb4_bin",
    connectionLimit: positiveInt(parsed.searchParams.get("connectionLimit"), 10, "connectionLimit", label),
    connectTimeout: positiveInt(parsed.searchParams.get("connectTimeout"), 5_000, "connectTimeout", label),
    ssl: sslOption(parsed.searchParams.get("ssl"), label),
    // No LOAD DATA LOCAL INFILE on queue connections.
    flags: ["-LOCAL_FILES"],
    waitForConnections: true,
    enableKeepAlive: true,
  };
  return { label, database, pool };
}

function decode(value: string, label: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // The decoder's error quotes the text (the password, if that is what is malformed): not kept as the cause.
    throw new DriverError(`mysql: the url for ${label} has a malformed %-escape`);
  }
}

function positiveInt(value: string | null, fallback: number, key: string, label: string): number {
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new DriverError(
      `mysql: url option ${key} for ${label} must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function sslOption(value: string | null, label: string): PoolOptions["ssl"] {
  switch (value) {
    case null:
    case "false":
      return undefined;
    case "true":
      return {};
    case "skip-verify":
      return { rejectUnauthorized: false };
    default:
      throw new DriverError(
        `mysql: url option ssl for ${label} must be true, false or skip-verify, got ${JSON.stringify(value)}`,
      );
  }
}
