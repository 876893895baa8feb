/**
 * stint/client at the edge, for real (DESIGN §14): jobs enqueued by name from
 * inside Cloudflare's workerd (npm `workerd`; the Worker bundled by
 * `bun build --conditions=workerd`, PostgreSQL reached over cloudflare:sockets)
 * and from Deno with network permission only run on a Bun worker process that
 * defines the task, and each edge side sees them succeed through the client's
 * getResult. The edge code is test/edge/fixtures/scenario.ts, run as written
 * in both places.
 *
 * Needs PostgreSQL (PG_URL) and node_modules/.bin's workerd, bun and deno: a
 * missing one fails the test. Only a run that leaves PostgreSQL out on
 * purpose (STINT_DRIVERS_READY without "postgres") skips it.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "../../client.ts";
import { uniqueBackend } from "../support/harness.ts";
import { waitFor } from "../support/wait.ts";
import { env } from "../support/env.ts";
import { readyDrivers } from "../support/targets.ts";
import type { Report } from "./fixtures/scenario.ts";
import { bin, bundleWorker, FIXTURES, type Proc, readmeWorker, start, writeWorkerdConfig } from "./support.ts";

const skip = readyDrivers().has("postgres") ? undefined : '"postgres" is not listed in STINT_DRIVERS_READY';
/** Only a guard against a hang: every step normally takes well under a second. */
const STEP_MS = 30_000;

/** What the scenario reports, whichever edge ran it. */
function assertReport(report: Report, from: string): void {
  assert.equal(report.result.status, "succeeded", JSON.stringify(report));
  const value = report.result.returnValue as { sum: number; from: string; ranOn: string };
  assert.equal(value.sum, 42);
  assert.equal(value.from, from);
  assert.match(value.ranOn, /^Bun\//, "the job ran on the Bun worker");
  assert.deepEqual([report.result.queue, report.result.priority, report.result.attempts], ["edge", 5, 1]);
  assert.deepEqual(report.batch, { statuses: ["ready", "scheduled"], ranSecond: "succeeded" });
  assert.deepEqual(report.depths, { all: { edge_later: 1, edge_empty: 0 }, dueNow: { edge_later: 0 } });
  assert.equal(report.cancelled, "cancelled");
  assert.deepEqual(report.refused, { name: "EnqueueError", code: "ENQUEUE_INVALID", isEnqueueError: true });
}

describe("stint/client at the edge", { skip }, () => {
  let pgUrl = "";
  let dir = "";
  let worker: Proc | undefined;
  let bundles: Promise<[string[], string[], string[]]>;
  const backends = { workerd: uniqueBackend(), readme: uniqueBackend(), deno: uniqueBackend() };

  before(async () => {
    const url = env("PG_URL");
    if (url === undefined) throw new Error("PG_URL is not set: the edge tests enqueue into PostgreSQL");
    pgUrl = url;
    dir = mkdtempSync(join(tmpdir(), "stint-edge-"));
    bundles = Promise.all([
      bundleWorker(join(FIXTURES, "worker.ts"), join(dir, "scenario")),
      bundleWorker(readmeWorker(join(dir, "readme-src")), join(dir, "readme")),
      bundleWorker(join(FIXTURES, "handshake-worker.ts"), join(dir, "handshake")),
    ]);
    bundles.catch(() => {}); // awaited by the workerd test, which reports it
    // The workers' side: one Bun process for both edges, each edge on a backend of its own.
    worker = start(bin("bun"), [join(FIXTURES, "bun-worker.ts"), pgUrl, ...Object.values(backends)], { stdin: true });
    await worker.line(/^ready$/, STEP_MS);
  });

  after(async () => {
    // Stopped gracefully, so that its process rows are gone; killed if it hangs.
    const code = await worker?.stop(10_000);
    if (worker && code !== 0) console.error(`the Bun worker exited ${code}:\n${worker.output()}`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("inside workerd: enqueued through stint/client, run by a Bun worker, seen by getResult", async () => {
    const [scenario, readme, handshake] = await bundles;
    const config = writeWorkerdConfig(dir, [
      { name: "scenario", dir: "scenario", modules: scenario, bindings: { PG_URL: pgUrl } },
      { name: "readme", dir: "readme", modules: readme, bindings: { DATABASE_URL: pgUrl, STINT_BACKEND: backends.readme } },
      { name: "probe", dir: "handshake", modules: handshake, bindings: {} },
      { name: "bare", dir: "handshake", modules: handshake, bindings: {}, bare: true },
    ]);
    const workerd = start(bin("workerd"), ["serve", config, "--control-fd=1"]);
    try {
      const port = async (socket: string) =>
        (JSON.parse(await workerd.line(new RegExp(`"event":"listen".*"socket":"${socket}"`), STEP_MS)) as { port: number }).port;
      const [scenarioPort, readmePort] = [await port("scenario"), await port("readme")];

      // The driver's handshake probe imports node:net lazily: workerd has it with nodejs_compat
      // (over cloudflare:sockets) and the probe runs; without it the import fails and the probe
      // steps aside ("skipped") instead of failing createClient.
      const { hostname, port: pgPort } = new URL(pgUrl);
      for (const [socket, expected] of [["probe", "postgres"], ["bare", "skipped"]]) {
        const probed = await fetch(`http://127.0.0.1:${await port(socket)}/?host=${hostname}&port=${pgPort}`);
        assert.equal(await probed.text(), JSON.stringify(expected), `${socket}\n${workerd.output()}`);
      }

      const response = await fetch(`http://127.0.0.1:${scenarioPort}/?backend=${backends.workerd}`);
      const body = await response.text();
      assert.equal(response.status, 200, `${body}\n${workerd.output()}`);
      assertReport(JSON.parse(body), "workerd");

      // The README's Worker, as written: it answers the handle; the job runs on the Bun worker.
      const posted = await fetch(`http://127.0.0.1:${readmePort}/`, { method: "POST", body: JSON.stringify({ to: "a@example.com" }) });
      const handle = await posted.text();
      assert.equal(posted.status, 202, `${handle}\n${workerd.output()}`);
      const { id, status } = JSON.parse(handle) as { id: string; status: string };
      assert.equal(status, "ready");
      const client = await createClient({ url: pgUrl, backend: backends.readme });
      try {
        const done = await waitFor("the README Worker's job to end", async () => {
          const result = await client.getResult(id);
          return result.finishedAt ? result : null;
        }, { timeout: STEP_MS });
        assert.deepEqual([done.status, done.queue, done.returnValue], ["succeeded", "mail", "sent to a@example.com"]);
      } finally {
        await client.close();
      }
    } finally {
      await workerd.kill();
    }
  });

  test("in Deno with network permission only: the same code, the same outcome", async () => {
    const deno = start(bin("deno"), ["run", "--allow-net", "--ignore-env", join(FIXTURES, "deno-client.ts"), pgUrl, backends.deno]);
    try {
      const line = await deno.line(/^\{/, STEP_MS);
      assertReport(JSON.parse(line), "deno");
      assert.equal(await deno.exited, 0, deno.output());
    } finally {
      await deno.kill();
    }
  });
});
