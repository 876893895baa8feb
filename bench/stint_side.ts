/**
 * The Stint side of each scenario, through the public API only (createStint,
 * enqueue, enqueueAll, start), as an application would use it.
 */
import { type AnyTask, createStint, defineTask, type Stint, type StintOptions } from "../mod.ts";
import { rssSampler, sleep } from "./env.ts";
import { TASK } from "./raw/harness.ts";
import type { LatencyRun } from "./raw/harness.ts";

export interface Target {
  url: string;
  backend: string;
}

/** Runtime errors are counted and the first few printed: a benchmark that hides them lies. */
export const runtimeErrors = { count: 0 };
function onRuntimeError(error: unknown, context: { operation: string }): void {
  if (++runtimeErrors.count <= 5) {
    console.error(`  [stint runtime error] ${context.operation}: ${(error as Error)?.message ?? error}`);
  }
}

async function open(target: Target, extra: Partial<StintOptions> = {}): Promise<Stint> {
  return await createStint({ url: target.url, backend: target.backend, onRuntimeError, ...extra });
}

const noop = defineTask(TASK, (_payload: { i: number }) => {});

/** The multi-step drain's task: three no-op steps over the payload as its workspace (worker_tasks.ts has its twin). */
export const STEPS_TASK = "bench_steps";
export const STEP_COUNT = 3;
function stepsTask(onLast: () => void): AnyTask {
  const steps = Array.from({ length: STEP_COUNT }, (_, k) => k === STEP_COUNT - 1 ? onLast : () => {});
  return defineTask(STEPS_TASK, steps);
}

/** With `keyed`, every job has its own unique key (DESIGN §11): what keys cost when none is a duplicate. */
const keyOf = (keyed: boolean, i: number) => (keyed ? { key: `job:${i}` } : undefined);

export async function stintEnqueueSingle(target: Target, n: number, keyed = false): Promise<number> {
  const stint = await open(target, { tasks: [noop] });
  try {
    await stint.migrate();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await stint.enqueue(noop, { i }, keyOf(keyed, i));
    return (performance.now() - t0) / 1000;
  } finally {
    await stint.close();
  }
}

async function enqueueBatches(
  stint: Stint,
  n: number,
  batch: number,
  keyed = false,
  task: AnyTask = noop,
): Promise<void> {
  for (let done = 0; done < n; done += batch) {
    const size = Math.min(batch, n - done);
    await stint.enqueueAll(
      Array.from({ length: size }, (_, k) => ({ task, payload: { i: done + k }, options: keyOf(keyed, done + k) })),
    );
  }
}

export async function stintEnqueueBulk(target: Target, n: number, batch: number, keyed = false): Promise<number> {
  const stint = await open(target, { tasks: [noop] });
  try {
    await stint.migrate();
    const t0 = performance.now();
    await enqueueBatches(stint, n, batch, keyed);
    return (performance.now() - t0) / 1000;
  } finally {
    await stint.close();
  }
}

function deadline(ms: number, what: () => string): { promise: Promise<never>; clear(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  promise.catch(() => {});
  return { promise, clear: () => clearTimeout(timer) };
}

/**
 * Seconds from start() until `n` pre-enqueued no-op jobs are gone (every
 * handler ran and every completion is written), and the RSS growth meanwhile.
 * `multiStep`: the jobs are three-step jobs (STEPS_TASK), each step a claim and a finish of its own.
 */
export async function stintDrain(
  target: Target,
  n: number,
  concurrency: number,
  pollMs: number,
  prefetch = 0,
  mode: "async" | "worker" = "async",
  transactional = false,
  multiStep = false,
): Promise<{ seconds: number; rssGrowth: number }> {
  let ran = 0;
  let allRan!: () => void;
  const everyoneRan = new Promise<void>((resolve) => (allRan = resolve));
  // transactional: each job's no-op handler runs in a transaction of its own, which also writes its success.
  const counted = multiStep
    ? stepsTask(() => {
      if (++ran === n) allRan();
    })
    : defineTask(TASK, (_payload: { i: number }) => {
      if (++ran === n) allRan();
    }, { transactional });
  // Worker mode: the isolates import the task from a module, so the handlers
  // cannot count here; the drain ends when the queue is empty (checked below).
  if (mode === "worker") allRan();
  const stint = await open(target, {
    tasks: mode === "worker" ? new URL("./worker_tasks.ts", import.meta.url) : [counted],
    workers: [{ concurrency, prefetch, pollingInterval: `${pollMs}ms` }],
    preserveFinishedJobs: false,
  });
  try {
    await stint.migrate();
    await enqueueBatches(stint, n, 1000, false, multiStep ? counted : noop);
    const sampler = rssSampler();
    const t0 = performance.now();
    const supervisor = await stint.start({ mode });
    const limit = deadline(Math.max(120_000, n * 10 * (multiStep ? STEP_COUNT : 1)), () => `${ran} of ${n} jobs ran`);
    try {
      await Promise.race([everyoneRan, limit.promise]);
      // The last completions are written after the handlers return: wait until no job is left.
      for (;;) {
        const infos = await stint.driver.queueList({ backend: target.backend });
        if (infos.every((q) => q.ready === 0 && q.running === 0 && q.scheduled === 0)) break;
        await Promise.race([sleep(2), limit.promise]);
      }
    } finally {
      limit.clear();
    }
    const seconds = (performance.now() - t0) / 1000;
    const rssGrowth = sampler.stop();
    await supervisor.stop();
    return { seconds, rssGrowth };
  } finally {
    await stint.close();
  }
}

/**
 * Latency samples (ms, sorted): handler start − enqueue call start.
 * "local": one instance enqueues and runs (the in-process wake-up path).
 * "poll" / "notify": a second instance enqueues by task name, so only polling,
 * or the database's notification (listenNotify), can wake the worker.
 */
export async function stintLatency(target: Target, run: LatencyRun): Promise<number[]> {
  const starts = new Array<number>(run.jobs);
  const samples: number[] = [];
  let allSeen!: () => void;
  const everyoneSeen = new Promise<void>((resolve) => (allSeen = resolve));
  const timed = defineTask(TASK, ({ i }: { i: number }) => {
    samples.push(performance.now() - starts[i]);
    if (samples.length === run.jobs) allSeen();
  });
  const listenNotify = run.mode === "notify";
  const consumer = await open(target, {
    tasks: [timed],
    workers: [{ concurrency: run.concurrency, prefetch: run.prefetch ?? 0, pollingInterval: `${run.pollMs}ms` }],
    preserveFinishedJobs: false,
    listenNotify,
  });
  const producer = run.mode === "local" ? consumer : await open(target, { listenNotify });
  try {
    await consumer.migrate();
    const supervisor = await consumer.start({ mode: "async" });
    const t0 = performance.now();
    for (let i = 0; i < run.jobs; i++) {
      await sleep(t0 + i * run.paceMs - performance.now());
      starts[i] = performance.now();
      await producer.enqueue(TASK, { i });
    }
    const limit = deadline(30_000, () => `${samples.length} of ${run.jobs} jobs seen`);
    try {
      await Promise.race([everyoneSeen, limit.promise]);
    } finally {
      limit.clear();
    }
    await supervisor.stop();
    return samples.sort((a, b) => a - b);
  } finally {
    if (producer !== consumer) await producer.close();
    await consumer.close();
  }
}
