/** HTML building blocks for the dashboard. Everything user-controlled goes through esc(). */
export function esc(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!
  );
}

export interface PageContext {
  base: string;
  csrf: string;
  readOnly: boolean;
  backend: string;
}

export function layout(ctx: PageContext, title: string, body: string, flash?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Stint</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:baseline}
header a{color:#cfd8ea;text-decoration:none}header strong{font-size:18px}
main{padding:16px 20px;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0 20px}
th,td{border-bottom:1px solid #e3e6eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.paused{color:#b35c00;font-weight:600}.stale{color:#b00020}.live{color:#08753a}
form.inline{display:inline}button{font:inherit;padding:2px 8px;cursor:pointer}
pre{background:#fff;border:1px solid #e3e6eb;padding:8px;overflow:auto;white-space:pre-wrap}
.flash{background:#e8f3ff;border:1px solid #9cc3f0;padding:6px 10px;margin-bottom:12px}
</style></head><body>
<header><strong>Stint</strong><span>backend ${esc(ctx.backend)}</span>
<a href="${esc(home(ctx))}">Overview</a><a href="${esc(ctx.base)}/jobs?status=failed">Failed</a>
<a href="${esc(ctx.base)}/jobs?status=running">Running</a><a href="${esc(ctx.base)}/jobs?status=waiting">Waiting</a>
<a href="${esc(ctx.base)}/jobs?status=scheduled">Scheduled</a>
<a href="${esc(ctx.base)}/stats.json">stats.json</a><a href="${esc(ctx.base)}/metrics">metrics</a></header>
<main>${flash ? `<div class="flash" role="status">${esc(flash)}</div>` : ""}<h1>${esc(title)}</h1>${body}</main></body></html>`;
}

/** The overview's address: the mount point itself ("/stint"), or "/" at the root. */
export function home(ctx: PageContext): string {
  return ctx.base === "" ? "/" : ctx.base;
}

/** A POST button; absent in read-only mode. */
export function action(ctx: PageContext, path: string, label: string, confirm?: string): string {
  if (ctx.readOnly) return "";
  // The browser HTML-decodes the attribute before running it: the message must be a JS string literal first.
  const onsubmit = confirm ? ` onsubmit="return confirm(${esc(JSON.stringify(confirm))})"` : "";
  return `<form class="inline" method="post" action="${esc(ctx.base + path)}"${onsubmit}>` +
    `<input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><button type="submit">${esc(label)}</button></form>`;
}

export function table(headers: string[], rows: string[][], numeric: number[] = []): string {
  if (rows.length === 0) return `<p>None.</p>`;
  const th = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((cell, i) => `<td${numeric.includes(i) ? ' class="n"' : ""}>${cell}</td>`).join("")}</tr>`);
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr.join("")}</tbody></table>`;
}

export function time(value: string | Date | null): string {
  if (value === null) return "";
  const iso = typeof value === "string" ? value : value.toISOString();
  return `<time datetime="${esc(iso)}">${esc(iso.replace("T", " ").replace(/\.\d+Z$/, "Z"))}</time>`;
}
