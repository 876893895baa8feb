/**
 * Quick start: `npm run demo` (Deno), `npx bun examples/quickstart.ts` (Bun)
 * or `npx node examples/quickstart.ts` (Node).
 *
 * Uses the embedded default, a libSQL file; runs the runtime in this process
 * (mode "async"); enqueues a few kinds of jobs, waits for them, prints their
 * results, then serves the dashboard until Ctrl-C. `--no-serve` exits after
 * printing; `--port N` picks the port (default 8787; 0 for any free one).
 */
import process from "node:process";
import { Hono } from "hono";
import { createStint } from "../mod.ts";
import { serve, stintApp } from "../hono.ts";
import * as tasks from "./tasks.ts";

const args: string[] = (globalThis as any).Deno?.args ?? process.argv.slice(2);
const noServe = args.includes("--no-serve");
const port = args.includes("--port") ? Number(args[args.indexOf("--port") + 1]) : 8787; // 0: any free port

const url = "file:stint-demo.db";
const stint = await createStint({
  url,
  tasks,
  workers: [{ queues: ["email", "*"], concurrency: 5, pollingInterval: "100ms" }],
  dispatchers: [{ pollingInterval: "200ms" }],
  onRuntimeError: (error, context) => console.error("runtime error", context, error),
});
await stint.migrate();
const supervisor = await stint.start({ mode: "async" });

const handles = {
  add: await stint.enqueue(tasks.add, { a: 2, b: 3 }),
  byName: await stint.enqueue("add", { a: 40, b: 2 }, { priority: 5 }),
  scheduled: await stint.enqueue(tasks.add, { a: 1, b: 1 }, { delay: "1s" }),
  flaky: await stint.enqueue(tasks.flaky, null),
  failing: await stint.enqueue(tasks.chargeCard, { cents: 1999 }),
  timeout: await stint.enqueue(tasks.slowReport, null),
};
const emails = await stint.enqueueAll(
  ["ada@example.com", "grace@example.com", "alan@example.com"].map((to) => ({ task: tasks.sendEmail, payload: { to } })),
);
console.log(`enqueued ${Object.keys(handles).length + emails.length} jobs into ${url}`);
console.log(`the scheduled job is ${handles.scheduled.status}; it runs in about a second`);

const labelled = [...Object.entries(handles), ...emails.map((h, i) => [`email ${i + 1}`, h] as const)];
// waitFor resolves once a job has ended (succeeded, failed, discarded or cancelled; not while it waits for a retry).
const results = await Promise.all(labelled.map(([, handle]) => stint.waitFor(handle, { timeout: "15s" })));

console.log("\nresults:");
for (const [i, [label]] of labelled.entries()) {
  const r = results[i];
  const outcome = r.status === "succeeded"
    ? JSON.stringify(r.returnValue)
    : r.error
    ? `${r.error.name}: ${r.error.message}`
    : "";
  console.log(`  ${label.padEnd(10)} ${r.task.padEnd(12)} ${r.status.padEnd(10)} attempts=${r.attempts} ${outcome}`);
}

async function shutdown(server?: { stop: () => Promise<void> }) {
  await server?.stop();
  await supervisor.stop();
  await stint.close();
}

if (noServe) {
  await shutdown();
} else {
  const app = new Hono();
  app.get("/", (c) => c.redirect("/stint"));
  app.route("/stint", stintApp(stint));
  const server = await serve(app.fetch, { port });
  console.log(`\ndashboard: http://127.0.0.1:${server.port}/stint  (stats.json and metrics beside it; Ctrl-C to stop)`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await shutdown(server);
    console.log("stopped");
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}
