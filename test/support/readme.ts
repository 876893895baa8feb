/**
 * The README's code, read the way its reader would: one `## heading` section at a time, and
 * the ```ts blocks in it by the file their first line names (`// main.ts — …`).
 * test/examples/readme.test.ts runs the quick starts from this checkout; test/package/run.sh
 * (through test/package/readme-files.ts) runs them from the installed npm package.
 */
import { readFileSync } from "node:fs";

export const README: URL = new URL("../../README.md", import.meta.url);

export function readme(): string {
  return readFileSync(README, "utf8");
}

/** One `## heading` section of the README, up to the next. */
export function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The ```ts blocks of one README section, by the file their first line names (`// main.ts — …`). */
export function sectionFiles(markdown: string, heading: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const [, code] of section(markdown, heading).matchAll(/```ts\n([\s\S]*?)```/g)) {
    const name = /^\/\/ ([\w.-]+\.ts)\b/.exec(code)?.[1];
    if (name) files.set(name, code);
  }
  return files;
}

export const ASYNC_QUICK_START = "Quick start: one process (async mode)";
export const WORKER_QUICK_START = "Quick start: a worker process (worker mode)";
