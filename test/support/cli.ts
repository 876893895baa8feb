/**
 * The command line (cli.ts) run as a real child process of the runtime under
 * test, in a fresh scratch directory, with no STINT_* variable of the test's
 * own environment.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const cli = new URL("../../cli.ts", import.meta.url).pathname;
const isDeno = "Deno" in globalThis;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the scratch directory holds afterwards. */
  files: string[];
}

/** Runs the CLI in a fresh scratch directory holding `files` (a name ending in "/" is a directory), `env` added. */
export function runCli(args: string[], files: Record<string, string> = {}, env: Record<string, string> = {}): Promise<CliRun> {
  const cwd = mkdtempSync(join(tmpdir(), "stint-cli-"));
  for (const [name, text] of Object.entries(files)) {
    if (name.endsWith("/")) mkdirSync(join(cwd, name));
    else writeFileSync(join(cwd, name), text);
  }
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STINT_")));
  const child = spawn(process.execPath, isDeno ? ["run", "-A", cli, ...args] : [cli, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...clean, NO_COLOR: "1", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  // Only a safety net for a hung child: nothing here asserts on time.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      const after = readdirSync(cwd).sort();
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, stdout, stderr, files: after });
    })
  );
}
