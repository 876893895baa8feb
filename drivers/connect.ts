/**
 * Picks a driver by URL scheme and loads it lazily, so an application never
 * loads a database client it does not use. mod.ts binds it as createStint's
 * default, client.ts as createClient's; the core itself never imports a driver.
 */
import type { ConnectOptions, Driver } from "../src/driver.ts";
import { ConfigError } from "../src/errors.ts";

export async function connect({ url, statementTimeoutMs, notify }: ConnectOptions): Promise<Driver> {
  const scheme = url.slice(0, url.indexOf(":")).toLowerCase();
  switch (scheme) {
    case "file":
    case "libsql":
    case "http":
    case "https":
    case "ws":
    case "wss": {
      const { createLibsqlDriver } = await import("./libsql/mod.ts");
      return createLibsqlDriver({ url, statementTimeoutMs });
    }
    case "mysql":
    case "mariadb": {
      const { createMysqlDriver } = await import("./mysql/mod.ts");
      return createMysqlDriver({ url, statementTimeoutMs });
    }
    case "postgres":
    case "postgresql": {
      const { createPostgresDriver } = await import("./postgres/mod.ts");
      return createPostgresDriver({ url, statementTimeoutMs, notify });
    }
    default:
      throw new ConfigError(`url: no driver for the ${JSON.stringify(scheme)} scheme in this build of stint`);
  }
}
