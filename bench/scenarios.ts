/**
 * Each scenario measures Stint, then the raw-SQL ceiling, each on a fresh
 * target, and turns the pair into table rows. A side that fails prints its
 * error and leaves "-" in its column; the other side still runs.
 */
import { rss } from "./env.ts";
import type { BenchOptions } from "./options.ts";
import { type LatencyMode, rawDrain, rawEnqueueBulk, rawEnqueueSingle, rawLatency } from "./raw/harness.ts";
import { openRaw, type RawQueue } from "./raw/mod.ts";
import { mb, percentile, type Row } from "./report.ts";
import {
  STEP_COUNT,
  stintDrain,
  stintEnqueueBulk,
  stintEnqueueSingle,
  stintLatency,
  type Target,
} from "./stint_side.ts";
import type { Targets } from "./targets.ts";

export const BULK_BATCH = 1000;

async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    console.error(`  ${what} failed: ${(error as Error)?.stack ?? error}`);
    return null;
  }
}

async function onStint<T>(targets: Targets, label: string, fn: (t: Target) => Promise<T>): Promise<T | null> {
  const target = targets.fresh(`${label}-stint`);
  const result = await attempt(`stint ${label}`, () => fn(target));
  await attempt(`cleanup ${label}`, () => targets.cleanup(target));
  return result;
}

async function onRaw<T>(
  targets: Targets,
  options: BenchOptions,
  label: string,
  fn: (raw: RawQueue, t: Target) => Promise<T>,
): Promise<T | null> {
  if (!options.raw) return null;
  const target = targets.fresh(`${label}-raw`);
  const result = await attempt(`raw ${label}`, async () => {
    const raw = await targets.openRaw(target);
    try {
      return await fn(raw, target);
    } finally {
      await raw.close();
    }
  });
  await attempt(`cleanup ${label}`, () => targets.cleanup(target));
  return result;
}

/**
 * Runs both sides `repeat` times, alternating which goes first (on a shared,
 * loaded machine the order matters), each on a fresh target.
 */
async function pair<S, R>(
  targets: Targets,
  o: BenchOptions,
  label: string,
  stintFn: (t: Target) => Promise<S>,
  rawFn: (raw: RawQueue, t: Target) => Promise<R>,
): Promise<{ stint: S[]; raw: R[] }> {
  const out = { stint: [] as S[], raw: [] as R[] };
  for (let r = 0; r < o.repeat; r++) {
    const tag = o.repeat > 1 ? `${label}-r${r + 1}` : label;
    const stint = async () => {
      const v = await onStint(targets, tag, stintFn);
      if (v !== null) out.stint.push(v);
    };
    const raw = async () => {
      const v = await onRaw(targets, o, tag, rawFn);
      if (v !== null) out.raw.push(v);
    };
    if (r % 2 === 0) {
      await stint();
      await raw();
    } else {
      await raw();
      await stint();
    }
  }
  return out;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median jobs/s over the repeats, and every run's figure (slowest first) when there are several. */
function rates(jobs: number, seconds: number[]): { value: number | null; spread: string } {
  const r = seconds.map((s) => jobs / s).sort((a, b) => a - b);
  if (r.length < 2) return { value: median(r), spread: "" };
  return { value: median(r), spread: r.map((x) => Math.round(x).toLocaleString("en-US")).join(" ") };
}

function spreadNote(stint: string, raw: string): string | undefined {
  if (!stint && !raw) return undefined;
  return `runs: stint ${stint || "-"}; raw ${raw || "-"}`;
}

/**
 * A short untimed pass over both sides first: the first side measured would
 * otherwise pay for JIT warm-up and module loading that the second one skips.
 */
export async function warmUp(targets: Targets, o: BenchOptions): Promise<void> {
  const n = Math.min(1000, o.jobs);
  const single = Math.min(100, o.single);
  const once = { ...o, repeat: 1 };
  await pair(
    targets,
    once,
    "warmup-enqueue",
    (t) => stintEnqueueSingle(t, single),
    (raw, t) => rawEnqueueSingle(raw, t.backend, single),
  );
  await pair(
    targets,
    once,
    "warmup-drain",
    (t) => stintDrain(t, n, o.concurrency[0], o.pollMs, o.prefetch, o.mode),
    (raw, t) => rawDrain(raw, t.backend, n, o.concurrency[0] + o.prefetch),
  );
  if (o.scenarios.has("steps")) {
    await onStint(
      targets,
      "warmup-steps",
      (t) => stintDrain(t, Math.min(300, o.jobs), o.concurrency[0], o.pollMs, o.prefetch, o.mode, false, true),
    );
  }
}

export async function enqueueRows(targets: Targets, o: BenchOptions, add: (row: Row) => void): Promise<void> {
  const single = await pair(
    targets,
    o,
    "enqueue-single",
    (t) => stintEnqueueSingle(t, o.single),
    (raw, t) => rawEnqueueSingle(raw, t.backend, o.single),
  );
  const [s1, r1] = [rates(o.single, single.stint), rates(o.single, single.raw)];
  add({
    scenario: `enqueue single (${o.single.toLocaleString("en-US")}, awaited one by one)`,
    unit: "jobs/s",
    stint: s1.value,
    raw: r1.value,
    note: spreadNote(s1.spread, r1.spread),
  });
  const bulk = await pair(
    targets,
    o,
    "enqueue-bulk",
    (t) => stintEnqueueBulk(t, o.jobs, BULK_BATCH),
    (raw, t) => rawEnqueueBulk(raw, t.backend, o.jobs, BULK_BATCH),
  );
  const [s2, r2] = [rates(o.jobs, bulk.stint), rates(o.jobs, bulk.raw)];
  add({
    scenario: `enqueue bulk (${o.jobs.toLocaleString("en-US")}, ${BULK_BATCH.toLocaleString("en-US")} per call)`,
    unit: "jobs/s",
    stint: s2.value,
    raw: r2.value,
    note: spreadNote(s2.spread, r2.spread),
  });
  await keyedEnqueueRows(targets, o, add);
}

/** The same enqueues with a unique key per job, Stint only (the ceiling has no keys): beside the plain rows above. */
async function keyedEnqueueRows(targets: Targets, o: BenchOptions, add: (row: Row) => void): Promise<void> {
  const stintOnly = { ...o, raw: false };
  const none = () => Promise.resolve(0);
  const single = await pair(
    targets,
    stintOnly,
    "enqueue-single-keyed",
    (t) => stintEnqueueSingle(t, o.single, true),
    none,
  );
  const s1 = rates(o.single, single.stint);
  add({
    scenario: `enqueue single, a unique key each (${o.single.toLocaleString("en-US")}, awaited one by one)`,
    unit: "jobs/s",
    stint: s1.value,
    raw: null,
    note: spreadNote(s1.spread, ""),
  });
  const bulk = await pair(
    targets,
    stintOnly,
    "enqueue-bulk-keyed",
    (t) => stintEnqueueBulk(t, o.jobs, BULK_BATCH, true),
    none,
  );
  const s2 = rates(o.jobs, bulk.stint);
  add({
    scenario: `enqueue bulk, a unique key each (${o.jobs.toLocaleString("en-US")}, ${
      BULK_BATCH.toLocaleString("en-US")
    } per call)`,
    unit: "jobs/s",
    stint: s2.value,
    raw: null,
    note: spreadNote(s2.spread, ""),
  });
}

export async function drainRows(targets: Targets, o: BenchOptions, add: (row: Row) => void): Promise<void> {
  for (const c of o.concurrency) {
    const before = rss();
    const pf = (o.prefetch > 0 ? ` prefetch=${o.prefetch}` : "") + (o.mode === "worker" ? " worker mode" : "");
    const runs = await pair(
      targets,
      o,
      `drain-c${c}`,
      (t) => stintDrain(t, o.jobs, c, o.pollMs, o.prefetch, o.mode),
      // Stint claims up to concurrency + prefetch at once: the ceiling claims as many per round.
      (raw, t) => rawDrain(raw, t.backend, o.jobs, c + o.prefetch),
    );
    const s = rates(o.jobs, runs.stint.map((x) => x.seconds));
    const r = rates(o.jobs, runs.raw.map((x) => x.seconds));
    add({
      scenario: `drain c=${c}${pf} (${o.jobs.toLocaleString("en-US")} no-op jobs)`,
      unit: "jobs/s",
      stint: s.value,
      raw: r.value,
      note: spreadNote(s.spread, r.spread),
    });
    const growth = (xs: Array<{ rssGrowth: number }>) => median(xs.map((x) => mb(x.rssGrowth)));
    add({
      scenario: `  RSS growth during drain c=${c}${pf}`,
      unit: "MB",
      stint: growth(runs.stint),
      raw: growth(runs.raw),
      note: `process RSS before: ${mb(before).toFixed(0)} MB`,
    });
  }
}

/**
 * The drain of three-step no-op jobs (DESIGN §10), beside the plain drain:
 * each job is claimed and finished once per step (the steps in between go back
 * to ready), so it reads in jobs/s and in steps/s. The raw-SQL ceiling has no
 * multi-step counterpart; compare with the plain drain's row instead.
 */
export async function stepsRows(targets: Targets, o: BenchOptions, add: (row: Row) => void): Promise<void> {
  for (const c of o.concurrency) {
    const pf = (o.prefetch > 0 ? ` prefetch=${o.prefetch}` : "") + (o.mode === "worker" ? " worker mode" : "");
    const runs = await pair(
      targets,
      { ...o, raw: false },
      `steps-c${c}`,
      (t) => stintDrain(t, o.jobs, c, o.pollMs, o.prefetch, o.mode, false, true),
      () => Promise.resolve(null),
    );
    const jobs = rates(o.jobs, runs.stint.map((x) => x.seconds));
    const steps = rates(o.jobs * STEP_COUNT, runs.stint.map((x) => x.seconds));
    const note = jobs.spread ? `runs: ${jobs.spread}` : undefined;
    const what = `${o.jobs.toLocaleString("en-US")} ${STEP_COUNT}-step no-op jobs`;
    add({
      scenario: `steps drain c=${c}${pf} (${what})`,
      unit: "jobs/s",
      stint: jobs.value,
      raw: null,
      ceiling: false,
      note,
    });
    add({ scenario: `  the same in steps/s`, unit: "steps/s", stint: steps.value, raw: null, ceiling: false });
  }
}

const MODE_LABEL: Record<LatencyMode, string> = {
  local: "same instance (in-process wake-up)",
  poll: "other instance (polling)",
  notify: "other instance (LISTEN/NOTIFY)",
};

export async function latencyRows(targets: Targets, o: BenchOptions, add: (row: Row) => void): Promise<void> {
  const modes: LatencyMode[] = ["local", "poll"];
  if (targets.scheme === "postgres" || targets.scheme === "postgresql") modes.push("notify");
  const concurrency = o.concurrency[0];
  for (const mode of modes) {
    const run = { jobs: o.latencyJobs, paceMs: o.paceMs, pollMs: o.pollMs, concurrency, mode, prefetch: o.prefetch };
    const runs = await pair(
      targets,
      o,
      `latency-${mode}`,
      (t) => stintLatency(t, run),
      (_raw, t) => rawLatency(() => openRaw(t.url), t.backend, run),
    );
    // Every repeat's samples go into one distribution.
    const stint = runs.stint.length ? runs.stint.flat().sort((a, b) => a - b) : null;
    const raw = runs.raw.length ? runs.raw.flat().sort((a, b) => a - b) : null;
    for (const p of [50, 95, 99]) {
      add({
        scenario: `latency p${p}, ${MODE_LABEL[mode]}`,
        unit: "ms",
        stint: stint ? percentile(stint, p) : null,
        raw: raw ? percentile(raw, p) : null,
        note: p === 99 && stint && raw
          ? `max: stint ${stint[stint.length - 1].toFixed(1)} ms, raw ${raw[raw.length - 1].toFixed(1)} ms`
          : undefined,
      });
    }
  }
}

/**
 * A drain of transactional no-op jobs (DESIGN §11: each handler in a
 * transaction that also writes its success) beside the same drain of plain
 * ones, both Stint, alternating which goes first. The row's "raw" column is
 * the plain drain here, so its ratio is transactional ÷ plain.
 */
export async function transactionalRows(targets: Targets, o: BenchOptions, add: (row: Row) => void): Promise<void> {
  for (const c of o.concurrency) {
    const drain = (transactional: boolean) => (t: Target) =>
      stintDrain(t, o.jobs, c, o.pollMs, o.prefetch, "async", transactional);
    const tx: number[] = [];
    const plain: number[] = [];
    for (let r = 0; r < o.repeat; r++) {
      const tag = `drain-tx-c${c}${o.repeat > 1 ? `-r${r + 1}` : ""}`;
      for (const transactional of r % 2 === 0 ? [true, false] : [false, true]) {
        const v = await onStint(targets, `${tag}${transactional ? "" : "-plain"}`, drain(transactional));
        if (v !== null) (transactional ? tx : plain).push(v.seconds);
      }
    }
    const s = rates(o.jobs, tx);
    const p = rates(o.jobs, plain);
    const pf = o.prefetch > 0 ? ` prefetch=${o.prefetch}` : "";
    add({
      scenario: `drain c=${c}${pf} transactional (${o.jobs.toLocaleString("en-US")} no-op jobs)`,
      unit: "jobs/s",
      stint: s.value,
      raw: p.value,
      note: `raw column: the same drain of plain jobs (ratio: transactional ÷ plain)${
        s.spread || p.spread ? `; ${spreadNote(s.spread, p.spread)}` : ""
      }`,
    });
  }
}
