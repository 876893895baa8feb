/**
 * An idle worker costs next to nothing: over a stretch with an empty queue it
 * sends about one claim per polling interval, whatever the mode and whether
 * it prefetches (with prefetch, PostgreSQL pipelines two claims at once; a
 * back-off that only trusted the newest claim's empty answer never waited).
 * This counts claims through the real driver, it does not time them.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { countCalls } from "../support/driver.ts";
import { sleep, withStint } from "../support/harness.ts";
import { targets } from "../support/targets.ts";
import { waitFor } from "../support/wait.ts";
import { TASKS_URL } from "../supervisor/support.ts";

const POLL_MS = 100;
const WINDOW_MS = 2000;
/** Claims the loop may add beyond one per interval: the claim of each wake-up, a claim in flight at each end. */
const SLACK = 6;

const cases = [
  { mode: "async", prefetch: 0 },
  { mode: "async", prefetch: 20 },
  { mode: "worker", prefetch: 0 },
  { mode: "worker", prefetch: 20 },
] as const;

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("an idle worker", () => {
      for (const { mode, prefetch } of cases) {
        test(`in ${mode} mode, prefetch ${prefetch}: about one claim per polling interval`, () =>
          withStint(target, {
            tasks: TASKS_URL,
            workers: [{ concurrency: 4, prefetch, isolates: 1, pollingInterval: `${POLL_MS}ms` }],
            dispatchers: [{ pollingInterval: "100ms" }],
            shutdownTimeout: "1s",
          }, async (stint) => {
            const claims = countCalls(stint, "jobClaim");
            await stint.start({ mode });
            await waitFor("the worker's first claim", () => claims.count > 0, { timeout: 10_000 });
            claims.reset();
            const from = Date.now();
            // The quantity under test is a count over a stretch of idle time: the stretch itself is the input.
            await sleep(WINDOW_MS);
            const seen = claims.count;
            const elapsed = Date.now() - from;
            const most = Math.ceil(elapsed / POLL_MS) + SLACK;
            assert.ok(seen <= most, `${seen} claims in ${elapsed} ms of an empty queue (at most ${most})`);
          }));
      }
    });
  });
}
