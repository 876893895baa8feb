/**
 * Creating, migrating and always closing Stint instances for a test, and the
 * small helpers every contract test uses. Each instance gets its own random
 * backend alias, so tests never see each other's jobs on a shared server.
 */
import assert from "node:assert/strict";
import { createStint, type Stint, type StintOptions } from "../../mod.ts";
import type { RuntimeErrorContext } from "../../src/config.ts";
import { driverFor, type Target } from "./targets.ts";

export interface RuntimeErrorRecord {
  error: unknown;
  context: RuntimeErrorContext;
}

export interface TestOptions extends Omit<StintOptions, "url"> {
  /** Runtime errors are expected: do not fail the test when some were reported. */
  allowRuntimeErrors?: boolean;
}

export function uniqueBackend(): string {
  return `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/** A unique queue name, for tests that want a queue nobody else uses. */
export function uniqueName(prefix = "q"): string {
  return `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
}

/** Gives `fn` a database URL of the target and releases it afterwards. */
export async function withDatabase(target: Target, fn: (url: string) => Promise<void>): Promise<void> {
  const url = await target.url();
  try {
    await fn(url);
  } finally {
    await target.release(url);
  }
}

/**
 * Creates a Stint on `url` with a unique backend, migrates, runs `fn`, and always
 * closes it (stopping any runtime it started). Runtime errors reported to
 * onRuntimeError fail the test unless `allowRuntimeErrors` is set; they are
 * passed to `fn` so a test can assert on them.
 */
export async function withStintAt(
  url: string,
  options: TestOptions,
  fn: (stint: Stint, runtimeErrors: RuntimeErrorRecord[]) => Promise<void>,
): Promise<void> {
  const { allowRuntimeErrors = false, onRuntimeError, ...rest } = options;
  const runtimeErrors: RuntimeErrorRecord[] = [];
  const driver = rest.driver ?? await driverFor(url);
  let stint: Stint;
  try {
    stint = await createStint({
      url,
      backend: uniqueBackend(),
      ...rest,
      driver,
      onRuntimeError(error, context) {
        runtimeErrors.push({ error, context });
        onRuntimeError?.(error, context);
      },
    });
  } catch (error) {
    if (driver !== rest.driver) await driver?.close();
    throw error;
  }
  try {
    await stint.migrate();
    await fn(stint, runtimeErrors);
  } finally {
    await stint.close();
  }
  if (!allowRuntimeErrors && runtimeErrors.length > 0) {
    const lines = runtimeErrors.map(({ error, context }) =>
      `${context.operation}: ${String((error as Error)?.stack ?? error)}`
    );
    assert.fail(`unexpected runtime errors:\n${lines.join("\n")}`);
  }
}

export function withStint(
  target: Target,
  options: TestOptions,
  fn: (stint: Stint, runtimeErrors: RuntimeErrorRecord[]) => Promise<void>,
): Promise<void> {
  return withDatabase(target, (url) => withStintAt(url, options, fn));
}

/** Runtime options that make a test fast: short polls, short shutdown. */
export function fastRuntime(worker: { queues?: string[]; concurrency?: number; pollingInterval?: string } = {}) {
  return {
    workers: [{ pollingInterval: "20ms", concurrency: 3, ...worker }],
    dispatchers: [{ pollingInterval: "20ms" }],
    shutdownTimeout: "1s",
  };
}

/** Names of the queues `stint.queues()` lists, in its order. */
export async function queueNames(stint: Stint): Promise<string[]> {
  return (await stint.queues()).map((q) => q.name);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
