/**
 * Picks a driver by URL scheme and loads it lazily, so an application never
 * loads a database client it does not use.
 */
import type { Driver } from "./driver.ts";
import { ConfigError } from "./errors.ts";

export async function connect(url: string, statementTimeoutMs: number, notify = true): Promise<Driver> {
  const scheme = url.slice(0, url.indexOf(":")).toLowerCase();
  switch (scheme) {
    case "file":
    case "libsql":
    case "http":
    case "https":
    case "ws":
    case "wss": {
      const { createLibsqlDriver } = await import("../drivers/libsql/mod.ts");
      return createLibsqlDriver({ url, statementTimeoutMs });
    }
    case "mysql":
    case "mariadb": {
      const { createMysqlDriver } = await import("../drivers/mysql/mod.ts");
      return createMysqlDriver({ url, statementTimeoutMs });
    }
    case "postgres":
    case "postgresql": {
      const { createPostgresDriver } = await import("../drivers/postgres/mod.ts");
      return createPostgresDriver({ url, statementTimeoutMs, notify });
    }
    default:
      throw new ConfigError(`url: no driver for the ${JSON.stringify(scheme)} scheme in this build of stint`);
  }
}
