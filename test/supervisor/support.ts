/**
 * Helpers for the supervisor tests: fresh libSQL files, the fixture tasks,
 * child-process supervisors (the same runtime that runs the tests), and
 * checking that every job ended accounted for.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { JobResult, JobStatus, Stint } from "../../mod.ts";
import { waitFor } from "../support/wait.ts";

export const TASKS_URL = new URL("../fixtures/tasks.ts", import.meta.url);
const SUPERVISOR_SCRIPT = new URL("../fixtures/supervisor.ts", import.meta.url).pathname;
export const isDeno = "Deno" in globalThis;

/** A scratch directory with a libSQL file in it; `remove()` deletes both. */
export function scratch(): { dir: string; url: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "stint-sv-"));
  return { dir, url: `file:${join(dir, "queue.db")}`, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Options for an in-process worker-mode runtime on the fixture tasks. */
export function workerModeOptions(overrides: Record<string, unknown> = {}) {
  return {
    tasks: TASKS_URL,
    isolateWatchdogTimeout: "1s",
    isolateAbortGrace: "300ms",
    workers: [{ isolates: 2, concurrency: 4, pollingInterval: "50ms" }],
    dispatchers: [{ pollingInterval: "100ms" }],
    shutdownTimeout: "1s",
    ...overrides,
  };
}

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /**
   * Sends a signal by pid. (Deno's node:child_process reports a child sent
   * `child.kill("SIGTERM")` as killed by SIGTERM even when it handled the
   * signal and exited 0; process.kill leaves the real exit status alone.)
   */
  signal(signal: "SIGTERM" | "SIGQUIT" | "SIGINT" | "SIGKILL"): void;
  /** Everything the child printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

/**
 * Starts test/fixtures/supervisor.ts in a child process of this very runtime
 * and resolves once it printed its "ready" line (rejects if it exits first).
 */
export async function startChild(env: Record<string, string>, { ready = true, timeout = 30_000 } = {}): Promise<Child> {
  const args = isDeno ? ["run", "-A", SUPERVISOR_SCRIPT] : [SUPERVISOR_SCRIPT];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const handle: Child = {
    process: child,
    pid: child.pid!,
    signal: (signal) => process.kill(child.pid!, signal),
    stdout: () => out,
    stderr: () => err,
    exited,
  };
  children.add(handle);
  exited.then(() => children.delete(handle));
  if (!ready) return handle;
  let exit: { code: number | null; signal: string | null } | null = null;
  exited.then((e) => (exit = e));
  await waitFor("the child supervisor to print ready", () => {
    if (exit) throw new Error(`the child exited (${JSON.stringify(exit)}) before it was ready:\n${out}\n${err}`);
    return /^ready \d+$/m.test(out);
  }, { timeout, interval: 25 });
  return handle;
}

const children = new Set<Child>();

/** Kills (SIGKILL) every child still running: a failed test must not leave supervisors behind. */
export async function killChildren(): Promise<void> {
  const left = [...children];
  for (const child of left) {
    try {
      child.signal("SIGKILL");
    } catch { /* exited meanwhile */ }
  }
  await Promise.all(left.map((c) => c.exited));
}

/** Waits for a child to exit, failing with its output if it takes longer than `timeout`. */
export async function exitOf(child: Child, timeout: number): Promise<{ code: number | null; signal: string | null }> {
  let exit: { code: number | null; signal: string | null } | null = null;
  child.exited.then((e) => (exit = e));
  try {
    await waitFor("the child to exit", () => exit !== null, { timeout, interval: 25 });
  } catch (error) {
    throw new Error(`${(error as Error).message}\nstdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`);
  }
  return exit!;
}

/** Environment for a child supervisor on `url`; `options` become createStint options. */
export function childEnv(
  url: string,
  backend: string,
  options: Record<string, unknown>,
  extra: Record<string, string> = {},
) {
  return { STINT_TEST_URL: url, STINT_TEST_BACKEND: backend, STINT_TEST_OPTIONS: JSON.stringify(options), ...extra };
}

export async function results(stint: Stint, ids: string[]): Promise<JobResult[]> {
  const out: JobResult[] = [];
  for (const id of ids) out.push(await stint.getResult(id));
  return out;
}

/** How many of `ids` are in each status. */
export async function statusCounts(stint: Stint, ids: string[]): Promise<Partial<Record<JobStatus, number>>> {
  const counts: Partial<Record<JobStatus, number>> = {};
  for (const r of await results(stint, ids)) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** Waits until every job of `ids` is in one of `statuses`; returns their results. */
export async function waitForAll(
  stint: Stint,
  ids: string[],
  statuses: JobStatus[],
  timeout = 20_000,
): Promise<JobResult[]> {
  let last: Partial<Record<JobStatus, number>> = {};
  try {
    await waitFor(`${ids.length} jobs to be ${statuses.join("/")}`, async () => {
      last = await statusCounts(stint, ids);
      return Object.entries(last).every(([status]) => statuses.includes(status as JobStatus));
    }, { timeout, interval: 50 });
  } catch (error) {
    throw new Error(`${(error as Error).message}; counts ${JSON.stringify(last)}`);
  }
  return results(stint, ids);
}

/**
 * Asserts the job ended accounted for: succeeded, or failed with one of
 * `allowedErrors`; a job that succeeded after failed attempts must have failed
 * them with one of `allowedErrors` too.
 */
export function assertAccounted(r: JobResult, allowedErrors: string[]): void {
  const where = `job ${r.id} (${r.task}): ${r.status}, attempts ${r.attempts}, errors ${
    JSON.stringify(r.errors.map((e) => e.name))
  }`;
  assert.ok(r.status === "succeeded" || r.status === "failed", where);
  if (r.status === "failed") assert.ok(allowedErrors.includes(r.error?.name ?? ""), where);
  for (const e of r.errors) assert.ok(allowedErrors.includes(e.name), where);
  assert.equal(r.errors.length, r.status === "failed" ? r.attempts : r.attempts - 1, where);
}
