/**
 * A clean stop while the server is down, on a throwaway server of the test's
 * own: heartbeats and deregistrations carry a deadline, and the pool's
 * reconnect back-off is short, so stop() and close() finish while the server
 * is still down. Before, heartbeats queued behind postgres.js's back-off (up
 * to 20 s a connection) and a stop after a few seconds of outage took minutes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, defineTask } from "../../mod.ts";
import { waitFor } from "../support/wait.ts";
import { skip } from "./env.ts";
import { startThrowaway, throwawaySkip } from "./server.ts";

const double = defineTask("outage_double", (n: number) => n * 2);

describe("postgres server down at stop", { skip: skip ?? throwawaySkip() }, () => {
  test("stop() and close() finish while the server is still down", { timeout: 90_000 }, async () => {
    const server = await startThrowaway();
    try {
      const failedBeats: string[] = [];
      const stint = await createStint({
        url: server.url,
        tasks: [double],
        workers: [{ pollingInterval: "50ms" }],
        dispatchers: [{ pollingInterval: "100ms" }],
        processHeartbeatInterval: "200ms",
        shutdownTimeout: "1s",
        onRuntimeError: (error, context) => {
          if (context.operation === "heartbeat") failedBeats.push(String((error as Error)?.message ?? error));
        },
      });
      let closed = false;
      try {
        await stint.migrate();
        const supervisor = await stint.start({ mode: "async" });
        const { id } = await stint.enqueue(double, 21);
        await waitFor("the job to run", async () => (await stint.getResult(id)).status === "succeeded", {
          timeout: 10_000,
        });

        server.kill(); // immediate shutdown: connections cut; the server stays down until the end
        const killedAt = Date.now();
        await waitFor("a heartbeat to fail", () => failedBeats.length > 0, { timeout: 30_000, interval: 50 });
        // The scenario, not an assertion: five seconds of outage, some 25 missed heartbeats a runner.
        await waitFor("five seconds of outage", () => Date.now() - killedAt >= 5000, {
          timeout: 30_000,
          interval: 100,
        });
        await supervisor.stop();
        await stint.close();
        closed = true;
      } finally {
        if (!closed) await stint.close();
      }
      // Reaching this line is the point: the server was never started again.
      assert.equal(closed, true);
    } finally {
      server.destroy();
    }
  });
});
