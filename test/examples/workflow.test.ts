/**
 * examples/workflow.ts, run as the README and docs/workflows.md say: a real
 * child process of the runtime under test, in a scratch directory. It must
 * print the workflow's summary (steps, a durable step, a sleep, children and
 * their join, hooks in order, jobs found by their data) and exit by itself.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild } from "../support/child.ts";

const script = new URL("../../examples/workflow.ts", import.meta.url).pathname;
const isDeno = "Deno" in globalThis;

describe("the workflow example", () => {
  test("runs its multi-step workflow to the end and prints the summary", { timeout: 90_000 }, async () => {
    const cwd = mkdtempSync(join(tmpdir(), "stint-workflow-"));
    try {
      const { code, signal, out } = await startChild(cwd, isDeno ? ["run", "-A", script] : [script]).exited;
      assert.equal(signal, null, `killed: it did not exit by itself\n${out}`);
      assert.equal(code, 0, out);
      assert.doesNotMatch(out, /runtime error/);
      const summary = /^onboard succeeded: (.*)$/m.exec(out);
      assert.ok(summary, out);
      assert.deepEqual(JSON.parse(summary[1]), {
        account: "acct_acme",
        imports: [
          { status: "succeeded", file: "contacts.csv", stored: 2, rejected: 1 },
          { status: "succeeded", file: "orders.csv", stored: 2, rejected: 0 },
        ],
      });
      // The sleep left it scheduled and the join waiting; the durable step ran once across its runs.
      assert.match(out, /^its statuses: scheduled -> waiting -> succeeded$/m);
      assert.match(out, /^its handler ran \d+ times; create-account ran 1 time$/m);
      const runs = Number(/its handler ran (\d+) times/.exec(out)![1]);
      assert.ok(runs >= 3, `the handler runs again after the sleep and after the join: ${runs}`);
      // Hooks in order, per step; the failed validate step is retried from that step.
      const hooks = /^hooks of contacts\.csv:\n((?: {2}.*\n)+)/m.exec(out);
      assert.ok(hooks, out);
      assert.deepEqual(hooks[1].trimEnd().split("\n").map((l) => l.trim()), [
        "onEnqueue",
        "before download (attempt 1)",
        "after download",
        "before validate (attempt 1)",
        "onFailure validate: the address checker is down (willRetry true)",
        "after validate",
        "before validate (attempt 2)",
        "after validate",
        "before store (attempt 1)",
        "after store",
      ]);
      assert.match(out, /^children: 2, parentId set$/m);
      // Four attempts in all (download, validate twice, store); the failed one is the second.
      assert.match(out, /^contacts\.csv: step 3\/3 \(store\), 4 attempts, attempt 2: the address checker is down$/m);
      const workspace = /^contacts\.csv's workspace: (.*)$/m.exec(out);
      assert.ok(workspace, out);
      assert.deepEqual(JSON.parse(workspace[1]), {
        customer: "acme",
        file: "contacts.csv",
        header: ["name", "email"],
        rows: [["Ada", "ada@example.com"], ["Grace", "grace@example.com"]],
        rejected: 1,
      });
      assert.match(out, /^jobs where customer is "acme": 3 \(import_file, import_file, onboard\)$/m);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
