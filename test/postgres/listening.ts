/** An instance that hears its own LISTEN/NOTIFY wake-ups, for the notify tests. */
import assert from "node:assert/strict";
import { createStint, type Stint, type StintOptions } from "../../mod.ts";
import { uniqueBackend } from "../support/harness.ts";
import { waitFor } from "../support/wait.ts";
import { pgUrl } from "./env.ts";

/** Runs `fn` with an instance on a fresh backend; `wakes` collects the queues its wake-ups name, in arrival order. */
export async function withListening(
  fn: (stint: Stint, wakes: string[]) => Promise<void>,
  options: StintOptions = {},
): Promise<void> {
  const backend = uniqueBackend();
  const stint = await createStint({ ...options, url: pgUrl(), backend });
  try {
    await stint.migrate();
    assert.equal(typeof stint.driver.listen, "function");
    const wakes: string[] = [];
    const stop = await stint.driver.listen!({ backend, onWake: (queues) => wakes.push(...queues) });
    try {
      await fn(stint, wakes);
    } finally {
      await stop();
    }
  } finally {
    await stint.close();
  }
}

/** Waits until a wake-up has named `queue`. */
export const until = (wakes: string[], queue: string) =>
  waitFor(`a wake-up for ${queue}`, () => wakes.includes(queue));
