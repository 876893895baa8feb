/**
 * LISTEN/NOTIFY wake-ups. Statements that make jobs ready send
 * `pg_notify(CHANNEL, '["backend","queue"]')` inside their own transaction, so
 * PostgreSQL delivers it only when that transaction commits (never before the
 * rows are visible; never for a rollback; an enqueue inside the caller's `tx`
 * wakes nobody until the caller commits). One channel serves every backend: a
 * channel name is an identifier of at most 63 bytes, a backend alias is not.
 *
 * The listener holds one dedicated connection. postgres.js reconnects a pool
 * lazily, on the next query; a LISTEN connection sends no queries, so after it
 * closes (server restart) this module issues LISTEN again with backoff until it
 * succeeds. Wake-ups sent while it was down are lost: polling covers them.
 */
import postgres from "postgres";
import type { SqlRunner } from "../engine/access.ts";
import { pgArray } from "./arrays.ts";
import { endPool } from "./open.ts";

export const CHANNEL = "stint_wake";

/**
 * SQL for a notify of `queueExpr` (a text expression) in backend `backendParam`;
 * its value is text (empty). With `send` false (`listenNotify: false`) it is
 * just the empty text, so statements keep their shape and send nothing.
 */
export function notifyExpr(backendParam: string, queueExpr: string, send = true): string {
  if (!send) return `''::text`;
  return `pg_notify('${CHANNEL}', json_build_array(${backendParam}::text, ${queueExpr})::text)::text`;
}

/** Sends one wake-up per queue inside the runner's transaction (or at once, on the pool). */
export async function notifyQueues(q: SqlRunner, backend: string, queues: Iterable<string>, send = true): Promise<void> {
  const list = [...new Set(queues)];
  if (list.length === 0 || !send) return;
  await q.query(`SELECT ${notifyExpr("$1", "x")} FROM unnest($2::text[]) AS x`, [backend, pgArray(list)]);
}

interface Subscriber {
  backend: string;
  onWake: (queues: string[]) => void;
}

export interface Listener {
  listen(p: { backend: string; onWake: (queues: string[]) => void }): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export function createListener(url: string, options: postgres.Options<any>): Listener {
  const subscribers = new Set<Subscriber>();
  let sql: postgres.Sql<any> | null = null;
  let listening: Promise<void> | null = null;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  function deliver(payload: string): void {
    let backend: unknown, queue: unknown;
    try {
      [backend, queue] = JSON.parse(payload);
    } catch {
      return; // not ours
    }
    if (typeof queue !== "string") return;
    for (const s of subscribers) {
      if (s.backend === backend) {
        try {
          s.onWake([queue]);
        } catch {
          // a subscriber's failure is its own; the others still hear the wake-up
        }
      }
    }
  }

  function open(): postgres.Sql<any> {
    return postgres(url, {
      ...options,
      max: 1,
      idle_timeout: undefined,
      max_lifetime: null,
      onnotify: (channel: string, payload: string) => {
        if (channel === CHANNEL) deliver(payload);
      },
      onclose: () => {
        if (!closed && sql !== null && subscribers.size > 0) relisten(0);
      },
    } as postgres.Options<any>);
  }

  function relisten(attempt: number): void {
    clearTimeout(retry);
    const delay = attempt === 0 ? 0 : Math.min(5000, 50 * 2 ** attempt);
    retry = setTimeout(() => {
      if (closed || sql === null || subscribers.size === 0) return;
      sql.unsafe(`LISTEN ${CHANNEL}`).catch(() => relisten(attempt + 1));
    }, delay);
  }

  async function stopIfIdle(): Promise<void> {
    if (subscribers.size > 0 || sql === null) return;
    const old = sql;
    sql = null;
    listening = null;
    clearTimeout(retry);
    await endPool(old, 1);
  }

  return {
    async listen({ backend, onWake }) {
      if (closed) throw new Error("the driver is closed");
      const sub: Subscriber = { backend, onWake };
      subscribers.add(sub);
      try {
        sql ??= open();
        listening ??= sql.unsafe(`LISTEN ${CHANNEL}`).then(() => {});
        await listening;
      } catch (error) {
        subscribers.delete(sub);
        listening = null;
        await stopIfIdle();
        throw error;
      }
      return async () => {
        subscribers.delete(sub);
        await stopIfIdle();
      };
    },
    async close() {
      closed = true;
      subscribers.clear();
      clearTimeout(retry);
      const old = sql;
      sql = null;
      if (old) await endPool(old, 1);
    },
  };
}
