/**
 * Where the MySQL-only tests connect: MYSQL_URL, when the mysql driver is
 * listed in STINT_DRIVERS_READY (the same rule as the contract suite).
 * MYSQL_ADMIN_URL, if set, is used to create throwaway databases (tests that
 * need an empty database skip when neither URL's user may create one).
 */
import mysql from "mysql2/promise";
import { targets } from "../support/targets.ts";
import { env } from "../support/env.ts";

const target = targets.find((t) => t.name === "mysql")!;

export const skip: string | undefined = target.skip;

export function mysqlUrl(): string {
  return env("MYSQL_URL")!;
}

/** A raw mysql2 connection to MYSQL_URL, for the test's own statements. */
export function rawConnection(url = mysqlUrl()): Promise<mysql.Connection> {
  return mysql.createConnection(url);
}

function adminUrl(): string {
  return env("MYSQL_ADMIN_URL") ?? mysqlUrl();
}

/** Why tests needing an empty database are skipped, or undefined when they can run. */
export async function freshDatabaseSkip(): Promise<string | undefined> {
  if (skip) return skip;
  const conn = await mysql.createConnection(adminUrl());
  const name = `stint_t_probe_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  try {
    await conn.query(`CREATE DATABASE ${name}`);
    await conn.query(`DROP DATABASE ${name}`);
    return undefined;
  } catch (error) {
    return `the MySQL user may not create databases (${(error as Error).message}); set MYSQL_ADMIN_URL to one who may`;
  } finally {
    await conn.end();
  }
}

/** Creates an empty database for `fn` and drops it afterwards. */
export async function withFreshDatabase(fn: (url: string) => Promise<void>): Promise<void> {
  const admin = adminUrl();
  const name = `stint_t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const conn = await mysql.createConnection(admin);
  try {
    await conn.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
    try {
      const url = new URL(admin);
      url.pathname = `/${name}`;
      await fn(url.href);
    } finally {
      await conn.query(`DROP DATABASE IF EXISTS ${name}`);
    }
  } finally {
    await conn.end();
  }
}
