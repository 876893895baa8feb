/** Bun's side of the Platform interface and of CliPlatform (Bun implements Node's process, os and fs). */
import type { CliPlatform } from "./cli-platform.ts";
import { pidNamespace } from "./pid-namespace.ts";
import { hostname } from "node:os";
import { readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";

export const bunPlatform: CliPlatform = {
  name: "bun",
  get pid() {
    return process.pid;
  },
  hostname: () => hostname(),
  env: (name) => process.env[name],
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
