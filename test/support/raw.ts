/**
 * The test's own connection to a target's database, for statements no driver
 * method makes (reading tables directly, or writing a state a later change
 * will give a method of its own). Statements use `?` placeholders.
 */
import { createClient, type InValue } from "@libsql/client";
import type { Target } from "./targets.ts";
import { rawClient } from "../postgres/env.ts";
import { rawConnection } from "../mysql/env.ts";

export type Row = Record<string, unknown>;

export interface RawDb {
  rows(sql: string, params?: unknown[]): Promise<Row[]>;
  run(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

export async function openRaw(target: Target, url: string): Promise<RawDb> {
  if (target.dialect === "libsql") {
    const client = createClient({ url, intMode: "number" });
    const rows = async (sql: string, params: unknown[] = []) =>
      (await client.execute({ sql, args: params as InValue[] })).rows as unknown as Row[];
    return { rows, run: async (sql, params) => void await rows(sql, params), close: () => Promise.resolve(client.close()) };
  }
  if (target.dialect === "postgres") {
    const sql = rawClient(url);
    const numbered = (text: string) => {
      let i = 0;
      return text.replaceAll("?", () => `$${++i}`);
    };
    const rows = async (text: string, params: unknown[] = []) =>
      [...await sql.unsafe(numbered(text), params as never[])] as Row[];
    return { rows, run: async (text, params) => void await rows(text, params), close: () => sql.end() };
  }
  const conn = await rawConnection(url);
  const rows = async (sql: string, params: unknown[] = []) => (await conn.query(sql, params))[0] as Row[];
  return { rows, run: async (sql, params) => void await rows(sql, params), close: () => conn.end() };
}

/** Runs `fn` with a raw connection to `url`, always closed afterwards. */
export async function withRaw<T>(target: Target, url: string, fn: (raw: RawDb) => Promise<T>): Promise<T> {
  const raw = await openRaw(target, url);
  try {
    return await fn(raw);
  } finally {
    await raw.close();
  }
}
