/**
 * In-process wake-ups: an enqueue (or a promotion) in this process tells the
 * local workers whose selectors match, so they claim at once instead of at
 * their next poll. Polling stays the correctness path.
 */
import type { QueueSelector } from "../records.ts";
import { selectorMatches } from "../selectors.ts";

interface Subscriber {
  selectors: QueueSelector[];
  wake: () => void;
}

export class Wakeups {
  #subscribers = new Set<Subscriber>();

  subscribe(selectors: QueueSelector[], wake: () => void): () => void {
    const sub = { selectors, wake };
    this.#subscribers.add(sub);
    return () => this.#subscribers.delete(sub);
  }

  /** Wakes every local worker, whatever its queues (jobs became ready across queues). */
  notifyAll(): void {
    for (const sub of this.#subscribers) sub.wake();
  }

  notify(queues: Iterable<string>): void {
    const list = [...queues];
    if (list.length === 0) return;
    for (const sub of this.#subscribers) {
      if (list.some((q) => selectorMatches(sub.selectors, q))) sub.wake();
    }
  }
}
