/**
 * Helpers for the multi-step contract tests (DESIGN §10): a Stint on the
 * fixture tasks of test/fixtures/tasks-steps.ts with a scratch directory for
 * what the tasks note, in async or worker mode.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobStatus, Stint } from "../../mod.ts";
import { type RuntimeErrorRecord, type TestOptions, withStint } from "./harness.ts";
import type { Target } from "./targets.ts";
import { env } from "./env.ts";

export const STEPS_URL = new URL("../fixtures/tasks-steps.ts", import.meta.url);
export type Mode = "async" | "worker";
export const MODES: readonly Mode[] = ["async", "worker"];

/**
 * The modes a scenario runs in on `target`: both on libSQL, async alone on the
 * servers. Worker mode's durable calls go through the same main-thread code
 * (src/runtime/services.ts) as async mode's, which runs on every database;
 * isolate startup is what makes these files long (STINT_FULL=1 runs both everywhere).
 */
export function modesFor(target: Target): readonly Mode[] {
  return target.name === "libsql" || env("STINT_FULL") === "1" ? MODES : ["async"];
}

/** Every status, for listing all of a backend's jobs. */
export const ALL_STATUSES: JobStatus[] = [
  "scheduled",
  "ready",
  "blocked",
  "running",
  "waiting",
  "succeeded",
  "failed",
  "discarded",
  "cancelled",
];

export interface StepsOptions extends TestOptions {
  /** Start a runtime in this mode before `fn` (none when unset). */
  mode?: Mode;
  concurrency?: number;
}

/**
 * A Stint on the fixture tasks (and a scratch directory for their notes);
 * with `mode`, its runtime is started first: one worker of `concurrency`
 * (default 3) polling every 20 ms (one isolate in worker mode).
 */
export async function withSteps(
  target: Target,
  options: StepsOptions,
  fn: (stint: Stint, dir: string, runtimeErrors: RuntimeErrorRecord[]) => Promise<void>,
): Promise<void> {
  const { mode, concurrency = 3, ...rest } = options;
  const dir = mkdtempSync(join(tmpdir(), "stint-steps-"));
  try {
    await withStint(target, {
      tasks: STEPS_URL,
      workers: [{ concurrency, isolates: 1, pollingInterval: "20ms" }],
      dispatchers: [{ pollingInterval: "20ms" }],
      shutdownTimeout: "1s",
      isolateAbortGrace: "300ms",
      ...rest,
    }, async (stint, runtimeErrors) => {
      if (mode) await stint.start({ mode });
      await fn(stint, dir, runtimeErrors);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens a gate the fixture tasks wait for. */
export function open(dir: string, gate: string): void {
  writeFileSync(join(dir, gate), "open");
}

/** Every job of the backend (any status), with its parent, through the public Driver's jobList (paged by id). */
export async function allJobs(
  stint: Stint,
): Promise<Array<{ id: string; task: string; status: JobStatus; parentId: string | null }>> {
  const out = [];
  let before: string | undefined;
  for (;;) {
    const page = await stint.driver.jobList({ backend: stint.backend, limit: 1000, before });
    for (const j of page) out.push({ id: j.id, task: j.task, status: j.status, parentId: j.parentId ?? null });
    if (page.length < 1000) return out;
    before = page[page.length - 1].id;
  }
}

/** A handle's id and status (JobHandle has more fields, such as `duplicate`). */
export function handle(h: { id: string; status: string }): { id: string; status: string } {
  return { id: h.id, status: h.status };
}
