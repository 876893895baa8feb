/**
 * An isolate pool whose start fails (one isolate cannot import the tasks
 * module) stops the isolates that did come up: run as a child process, it
 * must exit by itself. Before, the isolate that came up kept it alive forever.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { isDeno, scratch } from "./support.ts";

const CHILD = fileURLToPath(new URL("../fixtures/pool-start-fails.ts", import.meta.url));

test("a pool whose start fails leaves no isolate keeping the process alive", async () => {
  const dir = scratch();
  try {
    const args = isDeno ? ["run", "-A", CHILD] : [CHILD];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, STINT_TEST_MARKER: `${dir.dir}/marker` },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.on("data", (chunk) => (out += chunk));
    // Waits for the exit itself; the timer only bounds a failure (the child is killed then).
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => (child.kill("SIGKILL"), resolve(false)), 20_000);
      child.on("exit", () => (clearTimeout(timer), resolve(true)));
    });
    assert.match(out, /refused: .*another isolate imported this module first/);
    assert.ok(exited, "the child process exited by itself after the pool's start failed");
  } finally {
    dir.remove();
  }
});
