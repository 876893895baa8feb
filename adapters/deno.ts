/** Deno's side of the Platform interface and of CliPlatform. */
import type { CliPlatform } from "./cli-platform.ts";
import { pidNamespace } from "./pid-namespace.ts";
import process from "node:process";

// deno-lint-ignore no-explicit-any
const D = (globalThis as any).Deno;

export const denoPlatform: CliPlatform = {
  name: "deno",
  get pid() {
    return D.pid as number;
  },
  hostname: () => D.hostname() as string,
  env: (name) => {
    try {
      return D.env.get(name) ?? undefined;
    } catch {
      return undefined; // no --allow-env
    }
  },
  onSignal(signal, handler) {
    D.addSignalListener(signal, handler);
    return () => D.removeSignalListener(signal, handler);
  },
  pidNamespace() {
    // Read only with read permission already granted: under a terminal, Deno would otherwise
    // stop the supervisor's start on a permission prompt. Without it, rows record no namespace.
    try {
      if (D.permissions.querySync({ name: "read", path: "/proc/self/ns/pid" }).state !== "granted") return null;
    } catch {
      return null;
    }
    return pidNamespace();
  },
  processExists(pid) {
    try {
      process.kill(pid, 0); // Deno.kill has no signal 0; its node:process does
      return true;
    } catch (error) {
      // EPERM: it exists but belongs to someone else; ESRCH: no such process
      return (error as { code?: string }).code === "EPERM";
    }
  },
  async readTextFile(path) {
    try {
      return await D.readTextFile(path);
    } catch (error) {
      if (error instanceof D.errors.NotFound) return null;
      throw error;
    }
  },
  writeTextFile: (path, text) => D.writeTextFile(path, text),
  async removeFile(path) {
    try {
      await D.remove(path);
    } catch (error) {
      if (!(error instanceof D.errors.NotFound)) throw error;
    }
  },
  cwd: () => D.cwd() as string,
  args: () => [...D.args] as string[],
  exit: (code) => D.exit(code) as never,
};
