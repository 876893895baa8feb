/**
 * Picks a driver by URL scheme and loads it lazily, so an application never
 * loads a database client it does not use. mod.ts binds it as createStint's
 * default, client.ts as createClient's; the core itself never imports a driver.
 *
 * The clients are optional peer dependencies of the npm package (an application
 * installs the one it uses), so a driver's import can fail for want of its client:
 * that is a ConfigError naming the package to install, not a resolver's message.
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
      const { createLibsqlDriver } = await load(scheme, "@libsql/client", () => import("./libsql/mod.ts"));
      return createLibsqlDriver({ url, statementTimeoutMs });
    }
    case "mysql":
    case "mariadb": {
      const { createMysqlDriver } = await load(scheme, "mysql2", () => import("./mysql/mod.ts"));
      return createMysqlDriver({ url, statementTimeoutMs });
    }
    case "postgres":
    case "postgresql": {
      const { createPostgresDriver } = await load(scheme, "postgres", () => import("./postgres/mod.ts"));
      return createPostgresDriver({ url, statementTimeoutMs, notify });
    }
    default:
      throw new ConfigError(`url: no driver for the ${JSON.stringify(scheme)} scheme in this build of stint`);
  }
}

/** Imports a driver module; a failure to resolve its client package is a ConfigError naming the package. */
async function load<T>(scheme: string, client: string, driver: () => Promise<T>): Promise<T> {
  try {
    return await driver();
  } catch (error) {
    if (!isMissingPackage(error, client)) throw error;
    throw new ConfigError(
      `url: a ${scheme}: URL needs the database client ${JSON.stringify(client)}, which is not installed: ` +
        `add it to the application (npm install ${client}, bun add ${client} or deno add npm:${client})`,
      { cause: error },
    );
  }
}

/**
 * Whether an import failed because `client` (or a subpath of it) cannot be resolved. Each
 * runtime words it its own way (Node: "Cannot find package 'x' imported from …", Bun: "Cannot
 * find package 'x' from …", Deno: "Could not find …"/"Cannot find module 'x' …"); all of them
 * quote the specifier, which is what is matched, so a missing driver file is not mistaken for it.
 */
export function isMissingPackage(error: unknown, client: string): boolean {
  const message = String((error as { message?: unknown })?.message ?? error);
  const code = (error as { code?: unknown })?.code;
  const notFound = code === "ERR_MODULE_NOT_FOUND" ||
    /\b(cannot|could not|unable to) (find|resolve|load)\b|\bnot found\b|\bnot a dependency\b/i.test(message);
  const escaped = client.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return notFound && new RegExp(`['"\`](npm:)?${escaped}(@[^/'"\`]*)?(/[^'"\`]*)?['"\`]`).test(message);
}
