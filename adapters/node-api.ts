/**
 * The Platform members that Node's process, os and fs modules give, shared by
 * the Bun adapter (Bun implements them) and the Node adapter.
 */
import type { CliPlatform } from "./cli-platform.ts";
import { pidNamespace } from "./pid-namespace.ts";
import { hostname } from "node:os";
import { readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";

export function nodeApiPlatform(name: string): CliPlatform {
  return {
    name,
    pid: process.pid,
    hostname: () => hostname(),
    env: (key) => process.env[key],
    onSignal(signal, handler) {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    pidNamespace,
    processExists(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        // EPERM: it exists but belongs to someone else; ESRCH: no such process
        return (error as { code?: string }).code === "EPERM";
      }
    },
    async readTextFile(path) {
      try {
        return await readFile(path, "utf8");
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return null;
        throw error;
      }
    },
    writeTextFile: (path, text) => writeFile(path, text, "utf8"),
    removeFile: (path) => rm(path, { force: true }),
    cwd: () => process.cwd(),
    args: () => process.argv.slice(2),
    exit: (code) => process.exit(code),
  };
}
