/**
 * The chaos suite's faults, drawn from a seeded generator: kill -9 and SIGTERM of a
 * supervisor (replaced at once by a new one), and on PostgreSQL `pg_ctl restart -m
 * immediate`, pg_terminate_backend of the queue's connections and an idle-in-transaction
 * session holding the xmin horizon; on MariaDB a hard restart (kill -9 of mariadbd, started
 * again) and KILL CONNECTION of the queue's connections; and everywhere a burst of enqueues.
 */
import type { Fleet } from "./fleet.ts";
import type { Load } from "./load.ts";
import type { PrivateMysql } from "./mysql.ts";
import type { PrivatePostgres } from "./postgres.ts";

/** Resolves with `p`'s value, or undefined once `ms` have passed: no fault step may hang the suite. */
export async function deadline<T>(ms: number, p: Promise<T>): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export type FaultKind = "kill9" | "sigterm" | "pg_restart" | "pg_terminate" | "xmin_hold" | "mysql_restart" | "mysql_kill" | "burst";

export interface FaultContext {
  fleet: Fleet;
  size: number;
  load: Load;
  burst: number;
  random: () => number;
  /** Present on PostgreSQL: the private server and the run's database URL. */
  pg?: { server: PrivatePostgres; url: string };
  /** Present on MariaDB: the private server and the queue's user (whose connections are killed). */
  mysql?: { server: PrivateMysql; queueUser: string; database: string };
  log(line: string): void;
}

const WEIGHTS: Array<[FaultKind, number, "pg" | "mysql" | null]> = [
  // kind, weight, the only database it applies to
  ["kill9", 4, null],
  ["sigterm", 4, null],
  ["pg_restart", 2, "pg"],
  ["pg_terminate", 2, "pg"],
  ["xmin_hold", 1, "pg"],
  ["mysql_restart", 2, "mysql"],
  ["mysql_kill", 2, "mysql"],
  ["burst", 1, null],
];

export class Faults {
  readonly counts: Partial<Record<FaultKind, number>> = {};
  #admin: any = null;
  #holds = new Set<Promise<void>>();
  #bursts = 0;

  constructor(private readonly c: FaultContext) {}

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + (b ?? 0), 0);
  }

  summary(): string {
    return Object.entries(this.counts).map(([k, v]) => `${k}:${v}`).join(",") || "none";
  }

  /**
   * The next fault: first every kind once in a seeded order (so a short run still meets
   * each), then weighted draws. A run has one burst: more would dominate its length.
   */
  draw(): FaultKind {
    const options = WEIGHTS.filter(([kind, , only]) => (!only || this.c[only]) && (kind !== "burst" || this.#bursts < 1));
    const unseen = options.filter(([kind]) => !this.counts[kind]);
    if (unseen.length) return unseen[Math.floor(this.c.random() * unseen.length)][0];
    const sum = options.reduce((a, [, w]) => a + w, 0);
    let r = this.c.random() * sum;
    for (const [kind, w] of options) if ((r -= w) < 0) return kind;
    return options[options.length - 1][0];
  }

  async inject(kind: FaultKind): Promise<void> {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    const { fleet, random, log } = this.c;
    const victim = () => {
      const live = fleet.live();
      return live.length ? live[Math.floor(random() * live.length)] : null;
    };
    switch (kind) {
      case "kill9":
      case "sigterm": {
        const m = victim();
        if (!m) return log(`${kind}: no live supervisor`);
        if (kind === "kill9") fleet.kill9(m);
        else fleet.term(m);
        fleet.fill(this.c.size);
        return log(`${kind} pid ${m.pid} (slot ${m.slot}) at ${Date.now()}, replaced`);
      }
      case "pg_restart": {
        const t = Date.now();
        await this.c.pg!.server.restartImmediate();
        return log(`pg_ctl restart -m immediate ${t}..${Date.now()}`);
      }
      case "pg_terminate": {
        const sql = await this.#sql();
        const rows: any = await deadline(10_000, sql`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE application_name = 'stint' AND datname = current_database() AND pid <> pg_backend_pid()`);
        if (!rows) {
          await this.#closeAdmin(); // a fresh admin client next time
          return log("pg_terminate_backend: no answer within 10 s, skipped");
        }
        return log(`pg_terminate_backend: ${rows[0].n} queue connections`);
      }
      case "xmin_hold": {
        // A client of its own with one connection, not a session reserved from the admin pool
        // (postgres.js reserve() hung the suite here): a transaction that takes an xid and
        // then sits idle, holding back the xmin horizon, until its time is up.
        const ms = 2000 + Math.floor(random() * 4000);
        const { default: postgres } = await import("postgres");
        const sql = postgres(this.c.pg!.url, {
          max: 1,
          idle_timeout: 1,
          connect_timeout: 5,
          fetch_types: false,
          onnotice: () => {},
          connection: { application_name: "chaos-xmin" },
        });
        let began!: (xid: string) => void;
        const started = new Promise<string>((resolve) => (began = resolve));
        const tx = sql.begin("ISOLATION LEVEL REPEATABLE READ", async (t: any) => {
          const [{ xid }] = await t.unsafe("SELECT txid_current()::text AS xid");
          began(xid);
          await new Promise((resolve) => setTimeout(resolve, ms));
        }).catch(() => {}); // a restart or terminate may cut it: the hold simply ends early
        const hold = (async () => {
          await deadline(ms + 10_000, tx);
          await deadline(5_000, sql.end({ timeout: 1 }).catch(() => {}));
        })();
        this.#holds.add(hold);
        hold.finally(() => this.#holds.delete(hold));
        const xid = await deadline(10_000, Promise.race([started, tx.then(() => "none (cut before it began)")]));
        return log(`xmin_hold: transaction ${xid ?? "not begun within 10 s"} idle for ${ms} ms`);
      }
      case "mysql_restart": {
        const t = Date.now();
        await this.c.mysql!.server.restartHard();
        return log(`mariadbd kill -9 and restart ${t}..${Date.now()}`);
      }
      case "mysql_kill": {
        // The analogue of pg_terminate_backend: every connection of the queue's user (the
        // ledger has a user of its own), on a connection of our own that ends with the step.
        const { queueUser, database } = this.c.mysql!;
        const killed = await deadline(10_000, (async () => {
          const conn = await this.c.mysql!.server.admin();
          try {
            const [rows] = await conn.query(
              "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND (DB = ? OR DB IS NULL) AND ID <> CONNECTION_ID()",
              [queueUser, database],
            );
            let n = 0;
            for (const { ID } of rows as Array<{ ID: number }>) {
              // A connection may end between the listing and its KILL (Unknown thread id).
              await conn.query(`KILL CONNECTION ${Number(ID)}`).then(() => n++, () => {});
            }
            return n;
          } finally {
            await deadline(5_000, conn.end().catch(() => conn.destroy()));
          }
        })().catch((error: Error) => `failed: ${error?.message ?? error}`)); // no rejection once the deadline passed
        return log(killed === undefined ? "KILL CONNECTION: no answer within 10 s, skipped" : `KILL CONNECTION: ${killed} queue connections`);
      }
      case "burst": {
        this.#bursts++;
        log(`burst of ${this.c.burst} enqueues`);
        this.c.load.enqueue(this.c.burst, { batch: 1000, quick: true });
        return;
      }
    }
  }

  async #sql(): Promise<any> {
    if (!this.#admin) {
      const { default: postgres } = await import("postgres");
      this.#admin = postgres(this.c.pg!.url, {
        max: 3,
        idle_timeout: 2,
        connect_timeout: 10,
        fetch_types: false,
        onnotice: () => {},
        connection: { application_name: "chaos-admin" },
      });
    }
    return this.#admin;
  }

  async #closeAdmin(): Promise<void> {
    const admin = this.#admin;
    this.#admin = null;
    if (admin) await deadline(5_000, admin.end({ timeout: 1 }).catch(() => {}));
  }

  /** Ends held transactions and the admin connection. */
  async close(): Promise<void> {
    await deadline(20_000, Promise.all([...this.#holds]).catch(() => {}));
    await this.#closeAdmin();
  }
}
