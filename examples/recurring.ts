/**
 * Concurrency limits, recurring tasks and retention in one short program (about 4 s):
 *
 *   deno run -A examples/recurring.ts
 *   bun examples/recurring.ts
 *
 * It writes stint-example.db in the current directory, under a fresh backend alias per run.
 */
import { createStint, defineTask } from "../mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const at = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

// At most one sync per account at a time; more wait in line (onConflict: "block", the default).
const syncAccount = defineTask("sync_account", async ({ accountId, n }: { accountId: number; n: number }) => {
  console.log(`${at()}  sync account ${accountId} #${n} starts`);
  await sleep(300);
}, { concurrency: { key: "account:{accountId}", limit: 1, duration: "1m" } });

// A singleton: while one runs, another enqueue of it is discarded (kept as a "discarded" row).
const rebuildIndex = defineTask("rebuild_index", () => sleep(500), {
  concurrency: { key: "rebuild-index", limit: 1, onConflict: "discard" },
});

const heartbeat = defineTask("heartbeat", ({ from }: { from: string }) => console.log(`${at()}  heartbeat from ${from}`));
const report = defineTask("report", ({ tenant }: { tenant: number }) => console.log(`${at()}  report for tenant ${tenant}`));

const stint = await createStint({
  url: "file:stint-example.db",
  backend: `example-${crypto.randomUUID().slice(0, 8)}`,
  tasks: [syncAccount, rebuildIndex, heartbeat, report],
  // Static recurring tasks: synced when the scheduler starts. Six fields = seconds resolution.
  recurring: {
    heartbeat: { task: "heartbeat", cron: "* * * * * *", payload: { from: "options" }, description: "every second" },
  },
  scheduler: { dynamicTasks: true, pollingInterval: "100ms" },
  workers: [{ concurrency: 5, pollingInterval: "20ms" }],
  preserveFinishedJobs: true,
  clearFinishedJobsAfter: "1d",
});
await stint.migrate();

const syncs = await stint.enqueueAll(
  [[1, 1], [1, 2], [1, 3], [2, 1]].map(([accountId, n]) => ({ task: syncAccount, payload: { accountId, n } })),
);
console.log("sync statuses at enqueue:", syncs.map((j) => j.status).join(", ")); // ready, blocked, blocked, ready
const first = await stint.enqueue(rebuildIndex);
const second = await stint.enqueue(rebuildIndex);
console.log(`rebuild_index: ${first.status}, then ${second.status}`); // ready, then discarded

// A dynamic recurring task, every 2 seconds, in a time zone of its own.
const scheduled = await stint.schedule({
  key: "tenant_42_report",
  task: report,
  cron: "*/2 * * * * *",
  payload: { tenant: 42 },
  timeZone: "Europe/Stockholm",
});
console.log(`tenant_42_report next runs at ${scheduled.nextRunAt?.toISOString()}`);

await stint.start({ mode: "async" });
await sleep(3500);

const stats = await stint.stats();
for (const r of stats.recurring) {
  console.log(`recurring ${r.key} (${r.static ? "static" : "dynamic"}, ${r.cron}): last ${r.lastRunAt}, next ${r.nextRunAt}`);
}
for (const s of stats.semaphores.filter((s) => s.key.startsWith("account:"))) {
  console.log(`semaphore ${s.key}: ${s.value}/${s.limit} free, ${s.waiters} waiting`);
}
console.log("unscheduled:", await stint.unschedule("tenant_42_report"), "dynamic,", await stint.unschedule("heartbeat"), "static");

// Retention: one bounded batch per call; run again while limitReached says a batch was full.
let pruned = 0;
for (;;) {
  const result = await stint.prune({ finishedOlderThan: 0, batchSize: 5 });
  pruned += result.finished;
  if (!result.limitReached) break;
}
console.log(`pruned ${pruned} finished jobs`);
await stint.close();
