/**
 * A server restart, on a throwaway server of the test's own: the driver's pools
 * reconnect on their next statement and the listener listens again by itself;
 * while the server is down, calls fail fast instead of hanging.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, defineTask, DriverError } from "../../mod.ts";
import { waitFor } from "../support/wait.ts";
import { skip } from "./env.ts";
import { startThrowaway, throwawaySkip } from "./server.ts";

const task = defineTask("reconnect_task", (n: number) => n * 2);

describe("postgres server restarts", { skip: skip ?? throwawaySkip() }, () => {
  test("after a restart, enqueue, getResult, claims and wake-ups work again; while down, calls fail fast", {
    timeout: 120_000, // initdb and three server starts
  }, async () => {
    const server = await startThrowaway();
    try {
      const stint = await createStint({ url: server.url, tasks: [task] });
      try {
        await stint.migrate();
        const wakes: string[] = [];
        const stop = await stint.driver.listen!({ backend: stint.backend, onWake: (q) => wakes.push(...q) });
        const before = await stint.enqueue(task, 1, { queue: "before" });
        await waitFor("the first wake-up", () => wakes.includes("before"));

        server.restart();
        const after = await stint.enqueue(task, 2, { queue: "after" });
        assert.equal((await stint.getResult(before.id)).status, "ready");
        assert.equal((await stint.getResult(after.id)).status, "ready");
        // The listener's connection comes back on its own; until it does a wake-up may be missed.
        await waitFor("a wake-up after the restart", async () => {
          await stint.enqueue(task, 3, { queue: "again" });
          return wakes.includes("again");
        }, { timeout: 10_000, interval: 100 });

        server.stop();
        await assert.rejects(stint.enqueue(task, 4), (error: unknown) => {
          assert.match(String((error as Error).message), new RegExp(server.host.replaceAll(".", "\\.")));
          return true;
        });
        await assert.rejects(createStint({ url: server.url }), (error: unknown) => {
          assert.ok(error instanceof DriverError, String(error));
          assert.match(
            error.message,
            new RegExp(`cannot connect to PostgreSQL at ${server.host.replaceAll(".", "\\.")}`),
          );
          return true;
        });

        server.start();
        const sup = await stint.start({ mode: "async" });
        try {
          await waitFor("every job to run", async () => (await stint.getResult(after.id)).status === "succeeded", {
            timeout: 10_000,
          });
          assert.equal((await stint.getResult(after.id)).returnValue, 4);
        } finally {
          await sup.stop();
        }
        await stop();
      } finally {
        await stint.close();
      }
    } finally {
      server.destroy();
    }
  });
});
