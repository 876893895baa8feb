/**
 * A child process of the runtime under test, its output collected and its
 * stdout handed over line by line as it comes (to wait for a line, or act on one).
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";

export interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null; out: string }>;
}

export function startChild(cwd: string, args: string[], onLine?: (line: string) => void): Started {
  const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let out = "";
  let pending = "";
  child.stdout!.on("data", (chunk) => {
    out += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine?.(line);
  });
  child.stderr!.on("data", (chunk) => (out += chunk));
  // Only a guard against a hang: a process that has not exited by itself by then fails the test.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const exited = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    })
  );
  return { child, exited };
}
