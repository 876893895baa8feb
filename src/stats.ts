/**
 * `stint.stats()`: one backend's queues, runner processes, recurring tasks and
 * semaphores, as plain JSON-ready data (stats.json and /metrics render it).
 */
import type { Driver } from "./driver.ts";
import type { ProcessRecord } from "./records.ts";
import { parseSelectors, selectorMatches } from "./selectors.ts";

export interface QueueStats {
  name: string;
  ready: number;
  scheduled: number;
  blocked: number;
  running: number;
  /** Parents suspended in ctx.join until their children end. */
  waiting: number;
  failed: number;
  paused: boolean;
  /** Seconds the oldest ready job has waited; null when the queue is paused or has none ready. */
  latency: number | null;
  nextScheduledAt: string | null;
  /** Live workers whose selectors include this queue. */
  liveWorkers: number;
}

export interface ProcessStats {
  id: string;
  kind: string;
  name: string;
  pid: number | null;
  hostname: string | null;
  supervisorId: string | null;
  lastHeartbeatAt: string;
  status: "live" | "stale";
  metadata: Record<string, unknown>;
}

export interface Stats {
  backend: string;
  generatedAt: string;
  queues: QueueStats[];
  totals: { ready: number; scheduled: number; blocked: number; running: number; waiting: number; failed: number };
  processes: ProcessStats[];
  processCounts: { live: number; stale: number; byKind: Record<string, { live: number; stale: number }> };
  recurring: RecurringStats[];
  /** Database-wide (semaphores are not scoped by backend), at most 1000, fullest first. */
  semaphores: SemaphoreStats[];
}

export interface RecurringStats {
  key: string;
  task: string;
  cron: string;
  timeZone: string | null;
  queue: string | null;
  priority: number | null;
  description: string | null;
  static: boolean;
  lastRunAt: string | null;
  nextRunAt: string | null;
}

export interface SemaphoreStats {
  key: string;
  /** Free slots. */
  value: number;
  limit: number;
  expiresAt: string;
  /** Jobs blocked on this key (all backends). */
  waiters: number;
}

function workerSelects(worker: ProcessRecord, queue: string): boolean {
  const queues = worker.metadata.queues;
  if (!Array.isArray(queues)) return false;
  try {
    return selectorMatches(parseSelectors(queues, "queues"), queue);
  } catch {
    return false;
  }
}

export async function collectStats(driver: Driver, backend: string, aliveThresholdMs: number, now = new Date()): Promise<Stats> {
  const [infos, failed, processes, recurring, semaphores] = await Promise.all([
    driver.queueList({ backend }),
    driver.jobFailedCount({ backend }),
    driver.processList({ backend }),
    driver.recurringList({ backend }),
    driver.semaphoreList({ limit: 1000 }),
  ]);
  const t = now.getTime();
  const isLive = (p: ProcessRecord) => t - p.lastHeartbeatAt.getTime() <= aliveThresholdMs;
  const liveWorkers = processes.filter((p) => p.kind === "worker" && isLive(p));
  const names = new Set([...infos.map((i) => i.queue), ...failed.keys()]);
  const byName = new Map(infos.map((i) => [i.queue, i]));
  const queues: QueueStats[] = [...names].sort().map((name) => {
    const info = byName.get(name);
    const oldest = info?.oldestReadyAt ?? null;
    return {
      name,
      ready: info?.ready ?? 0,
      scheduled: info?.scheduled ?? 0,
      blocked: info?.blocked ?? 0,
      running: info?.running ?? 0,
      waiting: info?.waiting ?? 0,
      failed: failed.get(name) ?? 0,
      paused: info?.paused ?? false,
      latency: info?.paused || oldest === null ? null : Math.max(0, (t - oldest.getTime()) / 1000),
      nextScheduledAt: info?.nextScheduledAt?.toISOString() ?? null,
      liveWorkers: liveWorkers.filter((w) => workerSelects(w, name)).length,
    };
  });
  const totals = { ready: 0, scheduled: 0, blocked: 0, running: 0, waiting: 0, failed: 0 };
  for (const q of queues) {
    for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += q[key];
  }
  const byKind: Record<string, { live: number; stale: number }> = {};
  let live = 0;
  const rows: ProcessStats[] = processes.map((p) => {
    const status = isLive(p) ? "live" : "stale";
    byKind[p.kind] ??= { live: 0, stale: 0 };
    byKind[p.kind][status]++;
    if (status === "live") live++;
    return {
      id: p.id,
      kind: p.kind,
      name: p.name,
      pid: p.pid,
      hostname: p.hostname,
      supervisorId: p.supervisorId,
      lastHeartbeatAt: p.lastHeartbeatAt.toISOString(),
      status,
      metadata: p.metadata,
    };
  });
  return {
    backend,
    generatedAt: now.toISOString(),
    queues,
    totals,
    processes: rows,
    processCounts: { live, stale: rows.length - live, byKind },
    recurring: recurring.map((r) => ({
      key: r.key,
      task: r.task,
      cron: r.cron,
      timeZone: r.timeZone,
      queue: r.queue,
      priority: r.priority,
      description: r.description,
      static: r.static,
      lastRunAt: r.lastRunAt?.toISOString() ?? null,
      nextRunAt: r.nextRunAt?.toISOString() ?? null,
    })),
    semaphores: semaphores.map((s) => ({ ...s, expiresAt: s.expiresAt.toISOString() })),
  };
}
