/**
 * The raw-SQL side of each scenario, written once over RawQueue. The loops copy
 * the shape of Stint's worker (claim up to the free slots, run, complete; wait
 * for a poll or a wake-up when the claim came back short) without its
 * bookkeeping, so the difference is what Stint's code and statements cost.
 */
import { newJobId } from "../../src/ids.ts";
import { rssSampler, sleep } from "../env.ts";
import type { RawJob, RawQueue } from "./mod.ts";

export const TASK = "bench_noop";

export function rawJob(i: number): RawJob {
  return { id: newJobId(), task: TASK, queue: "default", priority: 0, payload: JSON.stringify({ i }) };
}

/** Seconds for `n` single inserts, one awaited call each. */
export async function rawEnqueueSingle(raw: RawQueue, backend: string, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await raw.insertOne(backend, rawJob(i), Date.now());
  return (performance.now() - t0) / 1000;
}

/** Seconds for `n` jobs inserted `batch` at a time, one transaction per batch. */
export async function rawEnqueueBulk(raw: RawQueue, backend: string, n: number, batch: number): Promise<number> {
  const t0 = performance.now();
  for (let done = 0; done < n; done += batch) {
    const jobs = Array.from({ length: Math.min(batch, n - done) }, (_, k) => rawJob(done + k));
    await raw.insertMany(backend, jobs, Date.now());
  }
  return (performance.now() - t0) / 1000;
}

/** Seconds to claim and complete `n` pre-inserted jobs, `concurrency` per claim; and the RSS growth. */
export async function rawDrain(
  raw: RawQueue,
  backend: string,
  n: number,
  concurrency: number,
): Promise<{ seconds: number; rssGrowth: number }> {
  for (let done = 0; done < n; done += 1000) {
    await raw.insertMany(
      backend,
      Array.from({ length: Math.min(1000, n - done) }, (_, k) => rawJob(done + k)),
      Date.now(),
    );
  }
  const processId = await raw.processRegister(backend);
  const sampler = rssSampler();
  const t0 = performance.now();
  let ran = 0;
  let completing: Promise<void> | null = null;
  for (;;) {
    const claimed = await raw.claim(backend, processId, concurrency, Date.now());
    if (claimed.length === 0) {
      // SKIP LOCKED may pass over rows next to the ones a completion in flight is deleting:
      // the queue is only empty if a claim finds nothing with no completion running.
      if (completing === null) break;
      await completing;
      completing = null;
      continue;
    }
    for (const job of claimed) JSON.parse(job.payload); // the no-op handler still gets its payload
    ran += claimed.length;
    const ids = claimed.map((j) => j.id);
    // Pooled clients overlap one completion with the next claim, as Stint's completer does.
    await completing;
    completing = raw.complete(ids);
    completing.catch(() => {}); // awaited below; this only keeps a rejection from counting as unhandled
    if (!raw.pipelined) {
      await completing;
      completing = null;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const rssGrowth = sampler.stop();
  if (ran !== n) throw new Error(`raw drain ran ${ran} jobs, expected ${n}`);
  return { seconds, rssGrowth };
}

/** A wake-up latch: a wake() while the loop is busy is remembered (the same rule as Stint's Waker). */
class Latch {
  #pending = false;
  #resolve: (() => void) | null = null;
  wake(): void {
    if (this.#resolve) this.#resolve();
    else this.#pending = true;
  }
  async wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#resolve = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#resolve = null;
    this.#pending = false;
  }
}

export type LatencyMode = "local" | "poll" | "notify";

export interface LatencyRun {
  jobs: number;
  paceMs: number;
  pollMs: number;
  concurrency: number;
  mode: LatencyMode;
  /** Stint worker prefetch (the raw consumer claims `concurrency` per round regardless). */
  prefetch?: number;
}

/**
 * Latency samples (ms, sorted): consumer sees the job − producer starts the insert.
 * "local" wakes the consumer in-process after the insert commits (one client);
 * "poll" uses a second client that only polls; "notify" a second client that LISTENs.
 */
export async function rawLatency(open: () => Promise<RawQueue>, backend: string, run: LatencyRun): Promise<number[]> {
  const producer = await open();
  const consumer = run.mode === "local" ? producer : await open();
  const latch = new Latch();
  const unlisten = run.mode === "notify" && consumer.listen ? await consumer.listen(() => latch.wake()) : null;
  const processId = await consumer.processRegister(backend);
  const starts = new Array<number>(run.jobs);
  const samples: number[] = [];
  let stop = false;

  const consume = async () => {
    let completing: Promise<void> = Promise.resolve();
    while (!stop) {
      const claimed = await consumer.claim(backend, processId, run.concurrency, Date.now());
      const seen = performance.now();
      for (const job of claimed) samples.push(seen - starts[(JSON.parse(job.payload) as { i: number }).i]);
      if (claimed.length > 0) {
        await completing;
        completing = consumer.complete(claimed.map((j) => j.id));
        completing.catch(() => {}); // awaited before the next one
        if (!consumer.pipelined) await completing;
      }
      if (samples.length >= run.jobs) break;
      if (claimed.length < run.concurrency) await latch.wait(run.pollMs);
    }
    await completing;
  };

  let failure: unknown = null;
  const consuming = consume().catch((error) => {
    failure = error;
  });
  const t0 = performance.now();
  for (let i = 0; i < run.jobs && failure === null; i++) {
    await sleep(t0 + i * run.paceMs - performance.now());
    starts[i] = performance.now();
    await producer.insertOne(backend, rawJob(i), Date.now(), run.mode === "notify");
    if (run.mode === "local") latch.wake();
  }
  const deadline = performance.now() + 30_000;
  while (samples.length < run.jobs && failure === null && performance.now() < deadline) await sleep(5);
  stop = true;
  latch.wake();
  await consuming;
  if (unlisten) await unlisten();
  if (consumer !== producer) await consumer.close();
  await producer.close();
  if (failure !== null) throw failure;
  if (samples.length < run.jobs) throw new Error(`raw latency: ${samples.length} of ${run.jobs} jobs seen within 30 s`);
  return samples.sort((a, b) => a - b);
}
