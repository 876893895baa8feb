/**
 * Closing on PostgreSQL is final: a process that closes its Stint exits by
 * itself and leaves no connection behind, also when the server went away and
 * came back meanwhile (postgres.js reconnects on a timer that `end()` does not
 * cancel), and a supervisor stopped while its outcomes cannot be written gives
 * them up at its deadline, names them, and exits; recovery handles those jobs.
 *
 * The children run under the runtime running these tests (deno or bun). Each
 * names its connections with its own application_name, so pg_stat_activity
 * shows what it left behind.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { spawn } from "node:child_process";
import process from "node:process";
import postgres from "postgres";
import { createStint, type Stint } from "../../mod.ts";
import { uniqueBackend } from "../support/harness.ts";
import { waitFor } from "../support/wait.ts";
import { childEnv, exitOf, isDeno, killChildren, scratch, startChild, TASKS_URL } from "../supervisor/support.ts";
import { pgUrl, skip } from "./env.ts";
import { startThrowaway, type Throwaway, throwawaySkip } from "./server.ts";

/** Generous: the machine may be loaded; these are deadlines, not speed checks. */
const EXIT_LIMIT = 60_000;
const CLOSE_SCRIPT = new URL("../fixtures/close-exit.ts", import.meta.url).pathname;

after(killChildren);

/** `url` with its own application_name, and that name. */
function tagged(url: string): { url: string; name: string } {
  const name = `stint_t_${crypto.randomUUID().slice(0, 8)}`;
  const u = new URL(url);
  u.searchParams.set("application_name", name);
  return { url: u.href, name };
}

/** Waits until the server shows no connection named `name` (a backend goes a moment after its client). */
async function noConnectionNamed(url: string, name: string): Promise<void> {
  const raw = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await waitFor(`no connection named ${name}`, async () => {
      const [row] = await raw`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${name}`;
      return row.n === 0;
    }, { timeout: 10_000, interval: 100 });
  } finally {
    await raw.end();
  }
}

/** Fails the test, with the child's output, if it has not exited by itself within EXIT_LIMIT. */
async function exitsByItself(child: Parameters<typeof exitOf>[0]): Promise<void> {
  const exit = await exitOf(child, EXIT_LIMIT);
  assert.deepEqual(exit, { code: 0, signal: null }, `stdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`);
}

/** Child supervisor options: short polls, listening, and a worker whose outcomes go through the completer. */
const supervisorOptions = {
  listenNotify: true,
  workers: [{ concurrency: 2, pollingInterval: "100ms" }],
  dispatchers: [{ pollingInterval: "100ms" }],
  shutdownTimeout: "500ms",
  statementTimeout: "2s",
};

describe("closing on PostgreSQL", { skip }, () => {
  test("a process that ran a job and closed exits by itself, leaving no connection", { timeout: 90_000 }, async () => {
    const { url, name } = tagged(pgUrl());
    const child = spawn(process.execPath, isDeno ? ["run", "-A", CLOSE_SCRIPT] : [CLOSE_SCRIPT], {
      env: { ...process.env, NO_COLOR: "1", STINT_TEST_URL: url, STINT_TEST_BACKEND: uniqueBackend() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (out += c));
    let exit: { code: number | null; signal: string | null } | null = null;
    child.on("exit", (code, signal) => (exit = { code, signal }));
    try {
      await waitFor("the child to exit by itself", () => exit !== null, { timeout: EXIT_LIMIT, interval: 50 });
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`${(error as Error).message}\n${out}`);
    }
    assert.deepEqual(exit, { code: 0, signal: null }, out);
    assert.match(out, /^closed \d+$/m);
    await noConnectionNamed(pgUrl(), name);
  });
});

describe("closing on PostgreSQL through an outage", { skip: skip ?? throwawaySkip() }, () => {
  let server: Throwaway;
  before(async () => {
    server = await startThrowaway();
    const stint = await createStint({ url: server.url });
    await stint.migrate();
    await stint.close();
  }, { timeout: 120_000 });
  after(() => server?.destroy());

  async function withQueue(fn: (stint: Stint, backend: string, dir: string) => Promise<void>): Promise<void> {
    const backend = uniqueBackend();
    const { dir, remove } = scratch();
    // Fast maintenance, so the test's own supervisor prunes the dead child's rows soon after they go stale.
    const stint = await createStint({
      url: server.url,
      backend,
      tasks: TASKS_URL,
      workers: [{ concurrency: 2, pollingInterval: "100ms" }],
      dispatchers: [{ pollingInterval: "100ms" }],
      processHeartbeatInterval: "500ms",
      processAliveThreshold: "3s",
      shutdownTimeout: "500ms",
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      onRuntimeError() {}, // the outage makes this instance fail too; expected
    });
    try {
      await fn(stint, backend, dir);
    } finally {
      await killChildren();
      await stint.close();
      remove();
    }
  }

  test(
    "a supervisor stopped while its outcomes cannot be written exits, naming the jobs it dropped; recovery retries them",
    { timeout: 180_000 },
    () =>
      withQueue(async (stint, backend, dir) => {
        const { url, name } = tagged(server.url);
        const child = await startChild(childEnv(url, backend, supervisorOptions, { STINT_TEST_MODE: "async" }));
        const { id } = await stint.enqueue("sleepy_retry", { ms: 1500, dir });
        await waitFor("the job to start in the child", () => existsSync(`${dir}/${id}.started`), {
          timeout: 20_000,
          interval: 25,
        });
        // Fast: it ends every session and keeps what was committed (the server runs with synchronous_commit off).
        server.stop();
        // The job ends while the server is down: its outcome cannot be written.
        await waitFor("the child to fail writing the outcome", () => /runtime-error finish/.test(child.stderr()), {
          timeout: 30_000,
          interval: 50,
        });
        child.signal("SIGTERM");
        await exitsByItself(child);
        assert.match(child.stderr(), new RegExp(`not written[^]*${id}`), child.stderr());

        server.start();
        await stint.start({ mode: "async" });
        const result = await waitFor("the dropped job to run again", async () => {
          const r = await stint.getResult(id);
          return r.status === "succeeded" ? r : null;
        }, { timeout: 60_000, interval: 100 });
        assert.equal(result.attempts, 2);
        assert.match(result.errors[0]?.name ?? "", /^Process(Pruned|Missing)Error$/);
        await noConnectionNamed(server.url, name);
      }),
  );

  test(
    "a supervisor stopped as the server comes back exits by itself, and none of its connections comes back",
    { timeout: 180_000 },
    () =>
      withQueue(async (stint, backend) => {
        const { url: named, name } = tagged(server.url);
        // postgres.js waits `backoff` seconds before it connects again after a connection closed (Stint's default
        // is at most 1 s): long here, so that its timers are still pending when the close ends.
        const url = `${named}&backoff=8`;
        const child = await startChild(childEnv(url, backend, supervisorOptions, { STINT_TEST_MODE: "async" }));
        const { id } = await stint.enqueue("add", { a: 1, b: 2 });
        await waitFor("the child to run a job", async () => (await stint.getResult(id)).status === "succeeded", {
          timeout: 20_000,
        });
        const before = child.stderr().length;
        // Fast: it ends every session and keeps what was committed (the server runs with synchronous_commit off).
        server.stop();
        await waitFor("the child to notice the outage", () => child.stderr().includes("runtime-error", before), {
          timeout: 30_000,
          interval: 50,
        });
        child.signal("SIGTERM");
        server.start();
        await exitsByItself(child);
        await noConnectionNamed(server.url, name);
      }),
  );
});
