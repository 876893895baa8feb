/**
 * The chaos suite's jobs: a seeded random mix of the tasks in test/chaos/tasks.ts,
 * enqueued in small batches over the run, plus bursts. Every id the queue handed
 * back is remembered: those are the jobs the end of the run must account for.
 */
import type { Stint } from "../../mod.ts";

/** A small seeded generator (mulberry32): the same seed gives the same faults and the same jobs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Item {
  task: string;
  payload: Record<string, number>;
}

/** One job of the mix: mostly quick, some slow, failing, timing out or ignoring their timeout. */
export function pick(random: () => number): Item {
  const r = random();
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  if (r < 0.55) return { task: "chaos_quick", payload: { ms: between(1, 20) } };
  if (r < 0.70) return { task: "chaos_slow", payload: { ms: between(50, 200) } };
  if (r < 0.82) return { task: "chaos_flaky", payload: { ms: between(1, 30), failUntil: between(1, 2) } };
  if (r < 0.87) return { task: "chaos_doomed", payload: { ms: between(1, 10) } };
  if (r < 0.95) return { task: "chaos_timeout", payload: { ms: 400 } };
  return { task: "chaos_stubborn", payload: { ms: 300 } };
}

export class Load {
  readonly ids = new Set<string>();
  errors = 0;
  lastError = "";
  #pending = new Set<Promise<void>>();

  constructor(private readonly stint: Stint, private readonly random: () => number) {}

  /** Enqueues `count` jobs of the mix (or `quick` ones only) in batches of `batch`, one batch after the other. */
  enqueue(count: number, { batch = 100, quick = false } = {}): Promise<void> {
    const run = (async () => {
      for (let done = 0; done < count; done += batch) {
        const items = Array.from({ length: Math.min(batch, count - done) }, () =>
          quick ? { task: "chaos_quick", payload: { ms: 1 + Math.floor(this.random() * 5) } } : pick(this.random));
        try {
          const handles = await this.stint.enqueueAll(items.map((i) => ({ task: i.task, payload: i.payload })));
          for (const h of handles) this.ids.add(h.id);
        } catch (error) {
          // A batch refused during a restart is not enqueued (the caller saw the error);
          // should it have committed anyway, its jobs show up as extras at the end.
          this.errors++;
          this.lastError = (error as Error)?.message ?? String(error);
        }
      }
    })();
    this.#pending.add(run);
    run.finally(() => this.#pending.delete(run));
    return run;
  }

  async settled(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }
}
