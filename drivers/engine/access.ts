/**
 * The small surface each database client supplies to the shared SQL engine.
 *
 * Statements are written once with `?` placeholders; the PostgreSQL access
 * rewrites them to `$n`. Times are BIGINT milliseconds since the epoch in every
 * dialect, ids are UUID text, JSON is text: one set of statements works on all
 * three databases, and each driver overrides only what its dialect does better.
 */
import type { DriverCapabilities } from "../../src/records.ts";

export type Row = Record<string, unknown>;
export type Param = string | number | null;

/** A condition on the ready row `r` and its parameters. */
export interface Condition {
  sql: string;
  params: Param[];
}

/** How a dialect matches a queue prefix on `r.queue`. */
export type PrefixMatch = (prefix: string) => Condition;

/**
 * A condition that the JSON document `doc` (an SQL expression) has the
 * top-level field `field` equal, by JSON equality, to the JSON text `json`
 * (json-where.ts). `field` and `json` are user text: they must only travel as
 * parameters.
 */
export type FieldEquals = (doc: string, field: string, json: string) => Condition;

/** Runs statements: on the pool, or inside one transaction. */
export interface SqlRunner {
  query(sql: string, params?: Param[]): Promise<Row[]>;
  /** Returns the number of rows the statement changed. */
  run(sql: string, params?: Param[]): Promise<number>;
}

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export interface SqlAccess extends SqlRunner {
  readonly dialect: "sqlite" | "postgres" | "mysql";
  readonly capabilities: DriverCapabilities;
  /** Runs `fn` in one write transaction, retrying the whole of it on the dialect's transient errors. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Wraps the caller's own transaction object (the client's) so jobs insert inside it. */
  runnerForUserTx(tx: unknown): SqlRunner;
  /**
   * Runs `fn` in a transaction on one of the client's connections, handing it
   * the client's own transaction object and a runner over it; commits when `fn`
   * resolves, rolls back when it throws. Never retried: `fn` is the caller's work
   * (transactionRun.ts).
   */
  clientTransaction<T>(fn: (tx: unknown, runner: SqlRunner) => Promise<T>): Promise<T>;
  /** Migrations, run in order; `migrate` applies the missing ones under a lock. */
  migrate(migrations: Migration[]): Promise<number[]>;
  readonly migrations: Migration[];
  /** `INSERT ... ` that skips rows violating a unique key. */
  insertIgnore(table: string, columns: string[], rows: number): string;
  /** Suffix for a SELECT that claims rows (FOR UPDATE SKIP LOCKED where supported). */
  readonly lockSuffix: string;
  /** Suffix for a SELECT that must wait for rows another transaction holds (default FOR UPDATE where lockSuffix is set). */
  readonly lockWaitSuffix?: string;
  /** How the claim matches a queue prefix (selectors.ts; default `substrPrefix`). */
  readonly prefixMatch?: PrefixMatch;
  /** How jobList's `where` compares a field (json-where.ts; default by dialect). */
  readonly fieldEquals?: FieldEquals;
  close(): Promise<void>;
}

/** FOR UPDATE (waiting) where the dialect locks rows; SQLite's write transaction already serializes. */
export function lockWait(access: SqlAccess): string {
  return access.lockWaitSuffix ?? (access.lockSuffix ? "FOR UPDATE" : "");
}

/** `(?, ?, ?)` repeated `rows` times for `columns` columns. */
export function valuesList(columns: number, rows: number): string {
  const one = `(${new Array(columns).fill("?").join(", ")})`;
  return new Array(rows).fill(one).join(", ");
}

export function placeholders(count: number): string {
  return new Array(count).fill("?").join(", ");
}

/** Splits work into chunks that stay well inside every dialect's parameter limit. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

export function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(num(value));
}

export function str(value: unknown): string {
  return typeof value === "string" ? value : String(value);
}

export function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : str(value);
}
