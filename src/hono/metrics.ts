/** Prometheus text exposition of `stint.stats()`. */
import type { Stats } from "../stats.ts";

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

export function renderMetrics(stats: Stats): string {
  const b = `backend="${label(stats.backend)}"`;
  const out: string[] = [];
  const gauge = (name: string, help: string, rows: Array<[string, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of rows) out.push(`${name}{${labels}} ${value}`);
  };
  const q = (name: string) => `${b},queue="${label(name)}"`;
  const states = ["ready", "scheduled", "blocked", "running", "waiting", "failed"] as const;
  gauge(
    "stint_queue_jobs",
    "Jobs per queue and state.",
    stats.queues.flatMap((queue) => states.map((s) => [`${q(queue.name)},state="${s}"`, queue[s]] as [string, number])),
  );
  gauge("stint_queue_paused", "1 when the queue is paused.", stats.queues.map((x) => [q(x.name), x.paused ? 1 : 0]));
  gauge(
    "stint_queue_latency_seconds",
    "Seconds the oldest ready job has waited (absent when paused or empty).",
    stats.queues.filter((x) => x.latency !== null).map((x) => [q(x.name), x.latency!]),
  );
  gauge("stint_queue_live_workers", "Live workers selecting the queue.", stats.queues.map((x) => [q(x.name), x.liveWorkers]));
  gauge("stint_runner_processes", "Runner processes by heartbeat status.", [
    [`${b},status="live"`, stats.processCounts.live],
    [`${b},status="stale"`, stats.processCounts.stale],
  ]);
  gauge(
    "stint_runner_processes_by_kind",
    "Runner processes by kind and heartbeat status.",
    Object.entries(stats.processCounts.byKind).flatMap(([kind, c]) => [
      [`${b},kind="${label(kind)}",status="live"`, c.live] as [string, number],
      [`${b},kind="${label(kind)}",status="stale"`, c.stale] as [string, number],
    ]),
  );
  gauge("stint_recurring_tasks", "Recurring tasks.", [[b, stats.recurring.length]]);
  gauge("stint_semaphores", "Concurrency semaphores in use.", [[b, stats.semaphores.length]]);
  gauge("stint_process_rows", "Rows in the process registry.", [[b, stats.processes.length]]);
  gauge("stint_failed_jobs", "Failed jobs awaiting retry or discard.", [[b, stats.totals.failed]]);
  return out.join("\n") + "\n";
}
