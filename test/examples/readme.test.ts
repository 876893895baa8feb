/**
 * The README's quick start, run as written: its `// tasks.ts` and `// main.ts`
 * blocks are copied into a scratch directory and run as a child process under
 * Deno (`deno run -A main.ts`) and Bun (`bun main.ts`), the way the README says.
 * Only the bare "stint" import is mapped to this checkout (deno.json imports on
 * Deno, tsconfig paths on Bun), as an installed package would be. The run must
 * print `succeeded 3` and exit by itself.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const root = new URL("../../", import.meta.url).pathname;
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The ```ts blocks of one README section, by the file their first line names (`// main.ts — …`). */
export function sectionFiles(markdown: string, heading: string): Map<string, string> {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has a "## ${heading}" section`);
  const end = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const files = new Map<string, string>();
  for (const [, code] of section.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const name = /^\/\/ ([\w.-]+\.ts)\b/.exec(code)?.[1];
    if (name) files.set(name, code);
  }
  return files;
}

function scratchProject(files: Map<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "stint-readme-"));
  for (const [name, code] of files) writeFileSync(join(dir, name), code);
  const imports = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).imports;
  writeFileSync(
    join(dir, "deno.json"),
    JSON.stringify({ imports: { ...imports, stint: join(root, "mod.ts") }, nodeModulesDir: "manual" }),
  );
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { paths: { stint: [join(root, "mod.ts")] } } }));
  // The npm clients mod.ts imports, as `npm install` would have put them beside the project.
  symlinkSync(realpathSync(join(root, "node_modules")), join(dir, "node_modules"));
  return dir;
}

function run(cwd: string, args: string[]): Promise<{ code: number | null; signal: string | null; out: string }> {
  const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  child.stderr!.on("data", (chunk) => (out += chunk));
  // Only a guard against a hang: a process that has not exited by itself by then fails the test.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    })
  );
}

const isDeno = "Deno" in globalThis;

describe("the README's quick start", () => {
  const files = sectionFiles(readme, "Quick start (Deno)");

  test("has tasks.ts and main.ts, and main.ts waits for the job", () => {
    assert.deepEqual([...files.keys()].sort(), ["main.ts", "tasks.ts"]);
    assert.match(files.get("main.ts")!, /stint\.waitFor\(/);
    assert.match(files.get("main.ts")!, /deno run -A main\.ts/);
    const bun = readme.slice(readme.indexOf("\n## Quick start (Bun)\n"), readme.indexOf("\n## Concepts\n"));
    assert.match(bun, /The same two files run under `bun main\.ts` and print `succeeded 3`/);
    assert.match(bun, /stint\.waitFor\(/);
  });

  test(`runs as written under ${isDeno ? "Deno" : "Bun"}, prints succeeded and exits by itself`, { timeout: 90_000 }, async () => {
    const dir = scratchProject(files);
    try {
      const { code, signal, out } = await run(dir, isDeno ? ["run", "-A", "main.ts"] : ["main.ts"]);
      assert.equal(signal, null, `killed: it did not exit by itself\n${out}`);
      assert.equal(code, 0, out);
      assert.match(out, /^succeeded 3$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
