/**
 * Where the PostgreSQL-only tests connect: PG_URL, when the postgres driver is
 * listed in STINT_DRIVERS_READY (the same rule as the contract suite). Tests
 * that need an empty database create one with PG_URL's user and drop it after
 * (they skip when that user may not create databases).
 */
import postgres from "postgres";
import { env } from "../support/env.ts";
import { targets } from "../support/targets.ts";

const target = targets.find((t) => t.name === "postgres")!;

export const skip: string | undefined = target.skip;

export function pgUrl(): string {
  return env("PG_URL")!;
}

/** A raw postgres.js client, for the test's own statements. */
export function rawClient(url = pgUrl()): postgres.Sql {
  return postgres(url, { max: 2, onnotice: () => {} });
}

function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.href;
}

/** Why tests needing an empty database are skipped, or undefined when they can run. */
export async function freshDatabaseSkip(): Promise<string | undefined> {
  if (skip) return skip;
  const sql = rawClient();
  const name = `stint_t_probe_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
    await sql.unsafe(`DROP DATABASE ${name}`);
    return undefined;
  } catch (error) {
    return `the PostgreSQL user of PG_URL may not create databases (${(error as Error).message})`;
  } finally {
    await sql.end();
  }
}

/** Creates an empty database for `fn` and drops it afterwards. */
export async function withFreshDatabase(fn: (url: string) => Promise<void>): Promise<void> {
  const sql = rawClient();
  const name = `stint_t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
    try {
      await fn(withDatabaseName(pgUrl(), name));
    } finally {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await sql.end();
  }
}
