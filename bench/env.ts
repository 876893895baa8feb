/**
 * The few runtime facts the benchmark needs (arguments, memory, temp files),
 * behind one small module so run.ts works the same under Deno and Bun.
 * node:os / node:fs / node:process exist in both runtimes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

interface DenoLike {
  args: string[];
  version: { deno: string };
}

const deno = (globalThis as { Deno?: DenoLike }).Deno;
const bun = (globalThis as { Bun?: { version: string } }).Bun;

export const runtimeName: string = deno
  ? `deno ${deno.version.deno}`
  : bun
  ? `bun ${bun.version}`
  : `node ${process.version}`;

/** Command-line arguments after the script name. */
export function scriptArgs(): string[] {
  return deno ? [...deno.args] : process.argv.slice(2);
}

/** Resident set size of this process, in bytes. */
export function rss(): number {
  return process.memoryUsage().rss;
}

/**
 * Samples RSS every `everyMs` until stopped; returns how far the peak rose above
 * the RSS at the start. RSS is process-wide and rarely shrinks, so the growth
 * during one measurement says more than the level (which carries every earlier run).
 */
export function rssSampler(everyMs = 25): { stop(): number } {
  const start = rss();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, rss())), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rss()) - start;
    },
  };
}

export async function makeTempDir(): Promise<string> {
  return await mkdtemp(join(tmpdir(), "stint-bench-"));
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export function exit(code: number): never {
  process.exit(code);
}
