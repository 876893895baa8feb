/** The dashboard's pages: overview, a job listing, one job. */
import type { JobStatus, JobSummary } from "../records.ts";
import type { JobResult } from "../result.ts";
import type { Stats } from "../stats.ts";
import { isJobId } from "../ids.ts";
import { action, esc, layout, type PageContext, table, time } from "./html.ts";

const jobLink = (ctx: PageContext, id: string) => `<a href="${esc(`${ctx.base}/jobs/${id}`)}">${esc(id.slice(0, 13))}…</a>`;
const queueQuery = (ctx: PageContext, status: string, queue: string) =>
  `${ctx.base}/jobs?status=${status}&queue=${encodeURIComponent(queue)}`;

export function overviewPage(ctx: PageContext, stats: Stats, flash?: string): string {
  const queues = table(
    ["queue", "ready", "scheduled", "blocked", "running", "waiting", "failed", "latency (s)", "workers", "state", ""],
    stats.queues.map((q) => [
      esc(q.name),
      `<a href="${esc(queueQuery(ctx, "ready", q.name))}">${q.ready}</a>`,
      `<a href="${esc(queueQuery(ctx, "scheduled", q.name))}">${q.scheduled}</a>`,
      String(q.blocked),
      `<a href="${esc(queueQuery(ctx, "running", q.name))}">${q.running}</a>`,
      `<a href="${esc(queueQuery(ctx, "waiting", q.name))}">${q.waiting}</a>`,
      `<a href="${esc(queueQuery(ctx, "failed", q.name))}">${q.failed}</a>`,
      q.latency === null ? "–" : q.latency.toFixed(1),
      String(q.liveWorkers),
      q.paused ? `<span class="paused">paused</span>` : "active",
      (q.paused
        ? action(ctx, `/queues/${encodeURIComponent(q.name)}/resume`, "Resume")
        : action(ctx, `/queues/${encodeURIComponent(q.name)}/pause`, "Pause")) +
      " " + action(ctx, `/queues/${encodeURIComponent(q.name)}/clear`, "Clear", `Remove every ready job of ${q.name}?`),
    ]),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  const processes = table(
    ["kind", "name", "host", "pid", "last heartbeat", "status"],
    stats.processes.map((p) => [
      esc(p.kind),
      esc(p.name),
      esc(p.hostname ?? ""),
      esc(p.pid ?? ""),
      time(p.lastHeartbeatAt),
      `<span class="${p.status}">${p.status}</span>`,
    ]),
  );
  const t = stats.totals;
  const failedActions = t.failed > 0
    ? action(ctx, "/failed/retry", "Retry all failed") + " " +
      action(ctx, "/failed/discard", "Discard all failed", "Discard every failed job?")
    : "";
  const recurring = table(
    ["key", "task", "cron", "queue", "description", "last run", "next run", ""],
    stats.recurring.map((r) => [
      esc(r.key),
      esc(r.task),
      esc(r.cron + (r.timeZone ? ` (${r.timeZone})` : "")),
      esc(r.queue ?? ""),
      esc(r.description ?? ""),
      time(r.lastRunAt),
      time(r.nextRunAt),
      r.static ? "static" : action(ctx, `/recurring/${encodeURIComponent(r.key)}/unschedule`, "Unschedule", `Unschedule ${r.key}?`),
    ]),
  );
  const body = `<p>ready ${t.ready} · scheduled ${t.scheduled} · blocked ${t.blocked} · running ${t.running} · ` +
    `<a href="${esc(ctx.base)}/jobs?status=waiting">waiting ${t.waiting}</a> · ` +
    `<a href="${esc(ctx.base)}/jobs?status=failed">failed ${t.failed}</a> ${failedActions}</p>
<h2>Queues</h2>${queues}<h2>Recurring tasks</h2>${recurring}<h2>Processes</h2>${processes}`;
  return layout(ctx, "Overview", body, flash);
}

export function jobsPage(ctx: PageContext, status: JobStatus, queue: string | undefined, jobs: JobSummary[], flash?: string): string {
  const rows = jobs.map((j) => [
    jobLink(ctx, j.id),
    esc(j.task),
    esc(j.queue),
    String(j.priority),
    String(j.attempts),
    time(j.enqueuedAt),
    time(status === "scheduled" ? j.scheduledAt : j.finishedAt),
    esc(status === "running" ? progressText(j.progress) : j.lastError ?? ""),
    jobActions(ctx, j.id, j.status),
  ]);
  const more = jobs.length > 0
    ? `<p><a href="${esc(`${ctx.base}/jobs?status=${status}${queue ? `&queue=${encodeURIComponent(queue)}` : ""}&before=${jobs.at(-1)!.id}`)}">Older →</a></p>`
    : "";
  const title = `${status} jobs${queue ? ` in ${queue}` : ""}`;
  return layout(
    ctx,
    title,
    table(
      ["id", "task", "queue", "priority", "attempts", "enqueued", status === "scheduled" ? "due" : "finished", status === "running" ? "progress" : "error", ""],
      rows,
      [3, 4],
    ) + more,
    flash,
  );
}

/** A running job's latest progress in one short line of a list (the job page shows it whole). */
function progressText(json: string | null | undefined): string {
  if (json === null || json === undefined) return "";
  return json.length > 80 ? `${json.slice(0, 79)}…` : json;
}

function jobActions(ctx: PageContext, id: string, status: JobStatus): string {
  const parts: string[] = [];
  if (status === "failed") parts.push(action(ctx, `/jobs/${id}/retry`, "Retry"));
  const pending = status === "ready" || status === "scheduled" || status === "blocked" || status === "waiting";
  if (status === "failed" || pending) parts.push(action(ctx, `/jobs/${id}/discard`, "Discard"));
  if (status === "running" || pending) {
    parts.push(action(ctx, `/jobs/${id}/cancel`, "Cancel"));
  }
  parts.push(action(ctx, `/jobs/${id}/enqueue-again`, "Enqueue again"));
  return parts.join(" ");
}

/** What the job page shows beside the job itself: its durable steps' stored results and its children. */
export interface JobRelations {
  /** Step name → stored result (JSON text), from driver.stepList. */
  steps: Map<string, string>;
  /** The newest children, at most `childLimit` of them. */
  children: JobSummary[];
  childLimit: number;
}

/**
 * One stored durable call as [name, call, what it stored]. The runtime wraps
 * each value in its call's name (src/runtime/durable.ts): {"step": result},
 * {"sleep": wake-up ms}, {"spawn": {id, status}}; anything else is shown as
 * it is stored.
 */
function stepRow(ctx: PageContext, name: string, text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [esc(name), "", `<pre>${esc(text)}</pre>`];
  }
  const kind = value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1
    ? Object.keys(value)[0]
    : null;
  const inner = kind === null ? value : (value as Record<string, unknown>)[kind];
  if (kind === "sleep" && typeof inner === "number" && !Number.isNaN(new Date(inner).getTime())) {
    return [esc(name), "sleep", `until ${time(new Date(inner))}`];
  }
  const child = kind === "spawn" ? (inner as { id?: unknown } | null)?.id : undefined;
  if (typeof child === "string" && isJobId(child)) return [esc(name), "spawn", jobLink(ctx, child)];
  const call = kind === "step" ? "step" : "";
  return [esc(name), call, `<pre>${esc(JSON.stringify(call ? inner : value, null, 2))}</pre>`];
}

export function jobPage(ctx: PageContext, job: JobResult, related: JobRelations, flash?: string): string {
  const fields: Array<[string, string]> = [
    ["id", esc(job.id)],
    ["task", esc(job.task)],
    ["queue", esc(job.queue)],
    ["priority", String(job.priority)],
    ["status", esc(job.status)],
    ["attempts", String(job.attempts)],
    ["enqueued", time(job.enqueuedAt)],
    ["scheduled", time(job.scheduledAt)],
    ["started", time(job.startedAt)],
    ["finished", time(job.finishedAt)],
  ];
  if (job.step) {
    const { index, name, count } = job.step;
    fields.push(["step", `${esc(name)} (${esc(index + 1)} of ${esc(count)})`]);
  }
  if (job.parentId) fields.push(["parent", jobLink(ctx, job.parentId)]);
  if (job.key !== null && job.key !== undefined) fields.push(["key", esc(job.key)]);
  if (job.progressAt) fields.push(["progress at", time(job.progressAt)]);
  const errors = job.errors.map((e) =>
    `<h3>attempt ${e.attempt}: ${esc(e.name)} ${time(e.at)}</h3><pre>${esc(e.message)}\n${esc(e.stack ?? "")}</pre>`
  ).join("");
  const steps = [...related.steps].map(([name, value]) => stepRow(ctx, name, value));
  const children = related.children.map((j) => [jobLink(ctx, j.id), esc(j.task), esc(j.queue), esc(j.status), time(j.finishedAt)]);
  const body = table(["field", "value"], fields.map(([k, v]) => [esc(k), v])) +
    `<p>${jobActions(ctx, job.id, job.status)}</p>` +
    `<h2>Payload</h2><pre>${esc(JSON.stringify(job.payload, null, 2))}</pre>` +
    (job.progressAt ? `<h2>Progress</h2><pre>${esc(JSON.stringify(job.progress, null, 2))}</pre>` : "") +
    (job.workspace !== null ? `<h2>Workspace</h2><pre>${esc(JSON.stringify(job.workspace, null, 2))}</pre>` : "") +
    (job.status === "succeeded" ? `<h2>Return value</h2><pre>${esc(JSON.stringify(job.returnValue, null, 2))}</pre>` : "") +
    (steps.length > 0 ? `<h2>Durable steps</h2>${table(["name", "call", "stored"], steps)}` : "") +
    (children.length > 0
      ? `<h2>Children</h2>${
        children.length === related.childLimit ? `<p>The newest ${related.childLimit} shown.</p>` : ""
      }${table(["id", "task", "queue", "status", "finished"], children)}`
      : "") +
    (errors ? `<h2>Errors</h2>${errors}` : "");
  return layout(ctx, `Job ${job.id}`, body, flash);
}
