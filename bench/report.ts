/** Figures and the printed table: one row per measurement, Stint beside the raw-SQL ceiling. */

export interface Row {
  scenario: string;
  unit: "jobs/s" | "steps/s" | "ms" | "MB";
  stint: number | null;
  raw: number | null;
  /** False for a row the raw-SQL side has no counterpart for (its raw column stays "-"). */
  ceiling?: boolean;
  /** Extra words printed after the row (e.g. RSS, how many samples). */
  note?: string;
}

/** Nearest-rank percentile of already sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function fmt(value: number | null, unit: Row["unit"]): string {
  if (value === null || Number.isNaN(value)) return "-";
  if (unit === "jobs/s" || unit === "steps/s") return `${Math.round(value).toLocaleString("en-US")} ${unit}`;
  if (unit === "MB") return `${value.toFixed(value < 10 ? 1 : 0)} MB`;
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

/** stint ÷ raw: for throughput below 1 means slower than the ceiling, for latency above 1 does. */
function ratio(row: Row): string {
  if (row.stint === null || row.raw === null || row.raw === 0) return "-";
  // A few MB of RSS is noise (allocator, GC timing): no ratio of noise.
  if (row.unit === "MB" && Math.min(row.stint, row.raw) < 5) return "-";
  return `${(row.stint / row.raw).toFixed(2)}x`;
}

const HEADER = ["scenario", "stint", "raw SQL", "stint/raw"];

function cells(row: Row): string[] {
  return [row.scenario, fmt(row.stint, row.unit), fmt(row.raw, row.unit), ratio(row)];
}

export function formatTable(rows: Row[]): string {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ");
  const out = [line(HEADER), widths.map((w) => "-".repeat(w)).join("-|-")];
  rows.forEach((row, i) => out.push(line(all[i + 1]) + (row.note ? `   ${row.note}` : "")));
  return out.join("\n");
}

export function formatRow(row: Row): string {
  const [scenario, stint, raw, r] = cells(row);
  return `  ${scenario}: stint ${stint}, raw ${raw}, stint/raw ${r}${row.note ? ` (${row.note})` : ""}`;
}

export function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}
