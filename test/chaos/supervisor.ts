/**
 * One standalone worker-mode supervisor of the chaos suite, run as a child process
 * (`deno run -A test/chaos/supervisor.ts` or `bun test/chaos/supervisor.ts`), like
 * examples/worker.ts. Environment:
 *
 *   CHAOS_URL          the queue's database (the suite migrated it)
 *   CHAOS_LEDGER_URL   where tasks write their ledger rows (the same database)
 *   CHAOS_OPTIONS      JSON merged into the createStint options
 *
 * Prints `ready <pid>` once it runs and `stopped` after stint.close(); it never calls
 * process.exit(), so a handle left open after close keeps it alive and the suite sees it.
 */
import process from "node:process";
import { setInterval } from "node:timers";
import { createStint } from "../../mod.ts";

const url = process.env.CHAOS_URL;
if (!url) throw new Error("CHAOS_URL is not set");

const stint = await createStint({
  url,
  tasks: new URL("./tasks.ts", import.meta.url),
  // Every line carries the epoch ms, to set against the ledger's times when a run fails.
  logger: {
    debug() {},
    info: (message: string, data?: unknown) => console.log(`${Date.now()} info ${message} ${data ? JSON.stringify(data) : ""}`),
    warn: (message: string, data?: unknown) => console.log(`${Date.now()} warn ${message} ${data ? JSON.stringify(data) : ""}`),
    error: (message: string) => console.log(`${Date.now()} error ${message}`),
  },
  onRuntimeError(error, context) {
    const e = error as Error;
    console.error(`${Date.now()} runtime-error ${context.operation}${context.jobId ? ` ${context.jobId}` : ""}: ${e?.name}: ${e?.message ?? e}`);
  },
  ...JSON.parse(process.env.CHAOS_OPTIONS || "{}"),
});
const supervisor = await stint.start({ standalone: true, mode: "worker" });
console.log(`ready ${process.pid}`);
// Orphaned (the suite was SIGKILLed and cannot stop us): leave at once, also while a close
// hangs (the suite that would SIGKILL us is gone). Unref'd, so it never keeps a stopped
// supervisor alive by itself: a handle left open after close still shows as unexited.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(3);
}, 500).unref();
await supervisor.stopped;
console.log(`${Date.now()} supervisor stopped, closing`);
await stint.close();
console.log(`${Date.now()} stopped`);
