/**
 * The README's first command runs examples/quickstart.ts: it must enqueue,
 * process and print every kind of job, then serve the dashboard until SIGINT.
 * Run here as a real child process of the same runtime, in a scratch directory.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { startChild } from "../support/child.ts";

const script = new URL("../../examples/quickstart.ts", import.meta.url).pathname;
const isDeno = "Deno" in globalThis;

async function run(args: string[], onLine?: (line: string, kill: () => void) => void): Promise<{ code: number | null; out: string }> {
  const cwd = mkdtempSync(join(tmpdir(), "stint-demo-"));
  const { child, exited } = startChild(cwd, isDeno ? ["run", "-A", script, ...args] : [script, ...args], (line) =>
    onLine?.(line, () => process.kill(child.pid!, "SIGINT")));
  try {
    const { code, out } = await exited;
    return { code, out };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

describe("the quickstart demo", () => {
  test("enqueues, processes and prints every kind of job", { timeout: 90_000 }, async () => {
    const { code, out } = await run(["--no-serve"]);
    assert.equal(code, 0, out);
    assert.match(out, /enqueued 9 jobs/);
    assert.match(out, /add\s+add\s+succeeded\s+attempts=1 5/);
    assert.match(out, /scheduled\s+add\s+succeeded/);
    assert.match(out, /flaky\s+flaky\s+succeeded\s+attempts=2 "recovered"/);
    assert.match(out, /failing\s+charge_card\s+failed\s+attempts=1 RangeError: card declined/);
    assert.match(out, /timeout\s+slow_report\s+failed\s+attempts=1 JobTimeoutError/);
    assert.equal((out.match(/send_email\s+succeeded/g) ?? []).length, 3);
  });

  test("then serves the dashboard and stops on SIGINT", { timeout: 90_000 }, async () => {
    let stats: { totals?: { failed: number }; queues?: Array<{ name: string }>; processCounts?: { live: number } } = {};
    let page = "";
    const { code, out } = await run(["--port", "0"], (line, kill) => {
      const match = /dashboard: (http:\/\/127\.0\.0\.1:\d+)\/stint/.exec(line);
      if (!match) return;
      void (async () => {
        try {
          stats = await (await fetch(`${match[1]}/stint/stats.json`)).json();
          page = await (await fetch(`${match[1]}/stint`)).text();
        } finally {
          kill();
        }
      })();
    });
    assert.equal(code, 0, out);
    assert.match(out, /stopped/);
    assert.equal(stats.totals?.failed, 2, "the two failing jobs show as failed");
    assert.ok(stats.queues?.some((q) => q.name === "default"), "the queue holding the failed jobs is listed");
    assert.ok((stats.processCounts?.live ?? 0) >= 3, "the runtime still runs while the dashboard is served");
    assert.match(page, /<h1>Overview<\/h1>/);
  });
});
