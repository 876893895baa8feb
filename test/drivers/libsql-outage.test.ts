/**
 * A stop while the database cannot take the outcomes (another connection holds
 * SQLite's write lock): the stop ends at its deadline, the dropped outcomes are
 * logged by job id, and recovery handles those jobs once the lock is gone.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { createStint, defineTask, type Logger } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { uniqueBackend, withDatabase } from "../support/harness.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";

const target = targets.find((t) => t.name === "libsql")!;

let open: () => void = () => {};
const gate = defineTask("gate", () => new Promise<string>((resolve) => (open = () => resolve("done"))));

describe("libsql outage at stop", { skip: target.skip }, () => {
  test("a stop while outcomes cannot be written ends, logs the dropped job ids, and recovery fails the job", () =>
    withDatabase(target, async (url) => {
      const backend = uniqueBackend();
      const errors: Array<{ message: string; data?: Record<string, unknown> }> = [];
      const logger: Logger = {
        debug() {},
        info() {},
        warn() {},
        error: (message, data) => errors.push({ message, data }),
      };
      const runtime = {
        workers: [{ pollingInterval: "20ms", concurrency: 1 }],
        dispatchers: [{ pollingInterval: "20ms" }],
        shutdownTimeout: "200ms",
        statementTimeout: "200ms",
      };
      const stint = await createStint({ url, backend, tasks: [gate], logger, onRuntimeError() {}, ...runtime });
      const other = createClient({ url });
      try {
        await stint.migrate();
        await stint.start({ mode: "async" });
        const { id } = await stint.enqueue(gate, null);
        await waitForStatus(stint, id, "running");
        const lock = await other.transaction("write");
        await lock.execute("SELECT 1");
        open(); // the job ends while another connection holds the write lock
        await stint.close();
        const dropped = errors.find((e) => (e.data?.jobIds as string[] | undefined)?.includes(id));
        assert.ok(dropped, `no log names the dropped job ${id}: ${JSON.stringify(errors)}`);
        assert.match(dropped.message, /not written/);
        await lock.rollback();
      } finally {
        other.close();
        await stint.close();
      }

      const again = await createStint({
        url,
        backend,
        tasks: [gate],
        onRuntimeError() {},
        ...runtime,
        processHeartbeatInterval: "100ms",
        processAliveThreshold: "1s",
      });
      try {
        await again.start({ mode: "async" });
        const failed = await waitFor("recovery to fail the job", async () => {
          const [job] = await again.listJobs("failed");
          return job ?? null;
        }, { timeout: 20_000, interval: 50 });
        const result = await again.getResult(failed.id);
        assert.match(result.error?.name ?? "", /^Process(Pruned|Missing)Error$/);
      } finally {
        await again.close();
      }
    }));
});
