/**
 * The chaos suite's tasks. Worker isolates import this module by URL, so it has
 * no side effects at load. Every execution writes a ledger row (test/chaos/ledger.ts)
 * in the queue's own database, named by CHAOS_LEDGER_URL: inserted as the handler
 * starts, completed as it ends. Short handlers (a few ms to ~200 ms), most with
 * retry, so a run cut by a fault is run again (at-least-once).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { defineTask, type TaskContext } from "../../mod.ts";
import { type Ledger, openLedger } from "./ledger.ts";

/** Enough attempts to outlive a run's worth of kills, restarts and terminated connections. */
const RETRY = { attempts: 12, backoff: "100ms" } as const;
/** How long a ledger write keeps trying through a restart or a cut connection. */
const LEDGER_PATIENCE_MS = 8000;

let ledger: Promise<Ledger> | null = null;
/** This isolate (the module loads once per isolate): the suite ends an execution when its isolate was terminated. */
const ISOLATE = crypto.randomUUID().slice(0, 8);

function ledgerClient(): Promise<Ledger> {
  if (!ledger) {
    const url = process.env.CHAOS_LEDGER_URL;
    if (!url) throw new Error("CHAOS_LEDGER_URL is not set");
    ledger = openLedger(url);
    ledger.catch(() => (ledger = null));
  }
  return ledger;
}

async function persist(what: string, write: (l: Ledger) => Promise<void>): Promise<void> {
  const deadline = Date.now() + LEDGER_PATIENCE_MS;
  for (let pause = 50;; pause = Math.min(pause * 2, 500)) {
    try {
      return await write(await ledgerClient());
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`ledger ${what}: ${(error as Error)?.message ?? error}`);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/**
 * While this isolate runs JavaScript, it stamps the time in a file of its own every 50 ms
 * (started by the first handler, so only isolates stamp, never the supervisor's main
 * thread). An execution whose end was never recorded (its isolate was terminated in the
 * middle of a ledger write, say) ended at the latest at its isolate's last stamp: evidence
 * that does not depend on Stint's word nor on the database being up.
 */
let stamping = false;
function stampAlive(): void {
  const dir = process.env.CHAOS_ALIVE_DIR;
  if (stamping || !dir) return;
  stamping = true;
  const file = join(dir, `alive-${process.pid}-${ISOLATE}`);
  const stamp = () => {
    try {
      writeFileSync(file, String(Date.now()));
    } catch { /* the suite removed its directory */ }
  };
  stamp();
  setInterval(stamp, 50);
}

/** Runs `body` between a ledger start row and its end. */
async function ledgered<T>(ctx: TaskContext, body: () => Promise<T> | T): Promise<T> {
  if (process.env.CHAOS_NO_LEDGER) return await body();
  stampAlive();
  const execId = crypto.randomUUID();
  const row = { execId, jobId: ctx.jobId, attempt: ctx.attempt, pid: process.pid, isolate: ISOLATE, startedAt: Date.now() };
  await persist("start", (l) => l.start(row));
  let outcome = "ok";
  try {
    return await body();
  } catch (error) {
    outcome = "error";
    throw error;
  } finally {
    // The end is the moment the handler's work stopped, not when the write got through.
    const endedAt = Date.now();
    await persist("end", (l) => l.end(execId, endedAt, outcome)).catch(() => {});
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when the job is aborted. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

type Sleep = { ms: number };

/** A few milliseconds of work. */
export const quick = defineTask("chaos_quick", ({ ms }: Sleep, ctx) => ledgered(ctx, () => sleep(ms, ctx.signal)), {
  retry: RETRY,
});

/** 50–200 ms of work. */
export const slow = defineTask("chaos_slow", ({ ms }: Sleep, ctx) => ledgered(ctx, () => sleep(ms, ctx.signal)), {
  retry: RETRY,
});

/** Fails its first `failUntil` attempts, then succeeds. */
export const flaky = defineTask("chaos_flaky", ({ ms, failUntil }: Sleep & { failUntil: number }, ctx) =>
  ledgered(ctx, async () => {
    await sleep(ms, ctx.signal);
    if (ctx.attempt <= failUntil) throw new Error(`flaky: attempt ${ctx.attempt} fails on purpose`);
  }), { retry: RETRY });

/** Always fails: ends `failed` after its two attempts. */
export const doomed = defineTask("chaos_doomed", ({ ms }: Sleep, ctx) =>
  ledgered(ctx, async () => {
    await sleep(ms, ctx.signal);
    throw new Error("doomed: fails on purpose");
  }), { retry: { attempts: 2, backoff: "100ms" } });

/** Overruns its 150 ms timeout on the first attempt (honouring the signal), then succeeds. */
export const timesOut = defineTask("chaos_timeout", ({ ms }: Sleep, ctx) =>
  ledgered(ctx, () => sleep(ctx.attempt === 1 ? ms : 10, ctx.signal)), { retry: RETRY, timeout: "150ms" });

/**
 * Overruns its 150 ms timeout on the first attempt and ignores the aborted signal
 * for a while (well within isolateAbortGrace): its next attempt must not start
 * before this one has ended.
 */
export const stubborn = defineTask("chaos_stubborn", ({ ms }: Sleep, ctx) =>
  ledgered(ctx, () => sleep(ctx.attempt === 1 ? ms : 10)), { retry: RETRY, timeout: "150ms" });
