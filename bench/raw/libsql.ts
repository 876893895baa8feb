/**
 * Raw libSQL ceiling: @libsql/client opened exactly as drivers/libsql opens it
 * (same options, WAL, foreign keys on, one connection), so commits cost the
 * same. SQLite has one writer: operations go one after another through a
 * promise chain, and a busy database (another client on the same file) is
 * retried asynchronously, as the driver does.
 */
import { type Client, createClient, type InStatement, type Transaction } from "@libsql/client";
import {
  CLAIMED_COLUMNS,
  CLEANUP_TABLES,
  JOB_COLUMNS,
  jobParams,
  placeholders,
  PROCESS_COLUMNS,
  processParams,
  type RawClaimed,
  type RawJob,
  type RawQueue,
  READY_COLUMNS,
  readyParams,
  valuesList,
} from "./mod.ts";

type Args = Array<string | number | null>;

function isBusy(error: unknown): boolean {
  const code = String((error as { code?: string })?.code ?? "");
  return code.startsWith("SQLITE_BUSY") || /database is locked/i.test(String((error as Error)?.message));
}

export async function openLibsql(url: string): Promise<RawQueue> {
  const client: Client = createClient(
    { url, timeout: 20, concurrency: 1, intMode: "number" } as Parameters<
      typeof createClient
    >[0],
  );
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => {});
    return next;
  };
  const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0;; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isBusy(error) || attempt > 2000) throw error;
        await new Promise((r) => setTimeout(r, Math.min(50, 2 + attempt * 3) * (0.5 + Math.random())));
      }
    }
  };
  const write = <T>(fn: (tx: Transaction) => Promise<T>): Promise<T> =>
    serial(() =>
      retrying(async () => {
        const tx = await client.transaction("write");
        try {
          const result = await fn(tx);
          await tx.commit();
          return result;
        } finally {
          tx.close();
        }
      })
    );
  const exec = (tx: Transaction | Client, sql: string, args: Args = []) => tx.execute({ sql, args } as InStatement);

  if (url.startsWith("file:")) {
    await retrying(async () => {
      await client.execute("PRAGMA journal_mode = WAL");
      await client.execute("PRAGMA foreign_keys = ON");
    });
  }

  const insertJobsSql = (rows: number) =>
    `INSERT INTO stint_jobs (${JOB_COLUMNS.join(", ")}) VALUES ${valuesList(15, rows)}`;
  const insertReadySql = (rows: number) =>
    `INSERT INTO stint_ready_executions (${READY_COLUMNS.join(", ")}) VALUES ${valuesList(6, rows)}`;

  return {
    name: "libsql",
    pipelined: false,
    canNotify: false,
    async describe() {
      const pragma = async (name: string) => String((await serial(() => exec(client, `PRAGMA ${name}`))).rows[0]?.[0]);
      return `journal_mode=${await pragma("journal_mode")} synchronous=${await pragma(
        "synchronous",
      )} (2 = FULL: fsync per commit)`;
    },
    async processRegister(backend) {
      const id = crypto.randomUUID();
      await serial(() =>
        retrying(() =>
          exec(
            client,
            `INSERT INTO stint_processes (${PROCESS_COLUMNS.join(", ")}) VALUES ${valuesList(11, 1)}`,
            processParams(backend, id),
          )
        )
      );
      return id;
    },
    async insertOne(backend, job, now) {
      await write(async (tx) => {
        await exec(tx, insertJobsSql(1), jobParams(backend, job, now));
        await exec(tx, insertReadySql(1), readyParams(backend, job, now));
      });
    },
    async insertMany(backend, jobs: RawJob[], now) {
      await write(async (tx) => {
        await exec(tx, insertJobsSql(jobs.length), jobs.flatMap((j) => jobParams(backend, j, now)));
        await exec(tx, insertReadySql(jobs.length), jobs.flatMap((j) => readyParams(backend, j, now)));
      });
    },
    claim(backend, processId, limit, now) {
      return write(async (tx) => {
        const picked = await exec(
          tx,
          `SELECT r.job_id, j.task, j.payload FROM stint_ready_executions r JOIN stint_jobs j ON j.id = r.job_id
           WHERE r.backend = ? ORDER BY r.priority DESC, r.job_id LIMIT ?`,
          [backend, limit],
        );
        if (picked.rows.length === 0) return [];
        const jobs: RawClaimed[] = picked.rows.map((r) => ({
          id: String(r.job_id),
          task: String(r.task),
          payload: String(r.payload),
        }));
        const ids = jobs.map((j) => j.id);
        const inIds = placeholders(ids.length);
        await exec(tx, `DELETE FROM stint_ready_executions WHERE job_id IN (${inIds})`, ids);
        await exec(
          tx,
          `INSERT INTO stint_claimed_executions (${CLAIMED_COLUMNS.join(", ")}) VALUES ${valuesList(6, ids.length)}`,
          ids.flatMap((id) => [id, backend, processId, 1, now, now]),
        );
        return jobs;
      });
    },
    async complete(ids) {
      await write(async (tx) => {
        await exec(tx, `DELETE FROM stint_claimed_executions WHERE job_id IN (${placeholders(ids.length)})`, ids);
        await exec(tx, `DELETE FROM stint_jobs WHERE id IN (${placeholders(ids.length)})`, ids);
      });
    },
    async cleanup(backend) {
      await write(async (tx) => {
        for (const table of CLEANUP_TABLES) await exec(tx, `DELETE FROM ${table} WHERE backend = ?`, [backend]);
      });
    },
    close: () => serial(() => Promise.resolve(client.close())),
  };
}
