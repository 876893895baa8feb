/**
 * A standalone worker script: `deno run -A examples/worker.ts` or `bun examples/worker.ts`.
 *
 * Runs tasks from examples/tasks.ts in Web Worker isolates until SIGTERM or
 * SIGINT (drain running jobs within shutdownTimeout, then put the rest back to
 * ready) or SIGQUIT (stop at once). Environment:
 *   STINT_DATABASE_URL   database (default file:stint.db)
 *   STINT_MODE           "worker" (default) or "async"
 *   STINT_PIDFILE        refuse to start while another supervisor holds this file
 */
import process from "node:process";
import { createStint } from "../mod.ts";

const url = process.env.STINT_DATABASE_URL ?? "file:stint.db";
const mode = process.env.STINT_MODE === "async" ? "async" : "worker";

const stint = await createStint({
  url,
  tasks: new URL("./tasks.ts", import.meta.url),
  mode,
  workers: [{ queues: ["*"], concurrency: 5, isolates: 2 }],
  shutdownTimeout: "5s",
  supervisorPidfile: process.env.STINT_PIDFILE,
});
await stint.migrate();
stint.on("supervisor.stop", () => console.log("supervisor stopped"));
const supervisor = await stint.start({ standalone: true });
console.log(`stint ${mode} supervisor pid ${process.pid} on ${url}: SIGTERM/SIGINT drain, SIGQUIT stops at once`);
await supervisor.stopped;
await stint.close();
