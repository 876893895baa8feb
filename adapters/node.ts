/**
 * Node's side of the Platform interface and of CliPlatform. Node has no Web
 * Worker: worker-mode isolates are node:worker_threads threads, started on
 * node-isolate.ts, which gives them a Web Worker's global shape, and handed to
 * the pool behind the few Web Worker members it uses (Platform.spawnIsolate).
 */
import type { CliPlatform } from "./cli-platform.ts";
import type { IsolateWorker } from "../src/platform.ts";
import { pidNamespace } from "./pid-namespace.ts";
import { hostname } from "node:os";
import { readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";
import { Worker } from "node:worker_threads";

// The bootstrap beside this file, with this file's extension: .ts from source, .js once compiled.
const BOOTSTRAP = new URL(`./node-isolate${/\.[cm]?[jt]s$/.exec(import.meta.url)?.[0] ?? ".ts"}`, import.meta.url);

function spawnIsolate(url: string, name: string): IsolateWorker {
  const worker = new Worker(BOOTSTRAP, { name, workerData: { url } });
  return {
    postMessage: (message) => worker.postMessage(message),
    addEventListener(type, listener) {
      if (type === "message") worker.on("message", (data: unknown) => listener({ data }));
      else if (type === "error") worker.on("error", (error: unknown) => listener({ message: errorText(error) }));
      else if (type === "messageerror") worker.on("messageerror", (error: Error) => listener({ message: errorText(error) }));
      else worker.on("exit", (code: number) => listener({ message: `exit code ${code}` }));
    },
    // Ends the thread even inside a synchronous loop (unlike Deno); no need to wait for it.
    terminate: () => void worker.terminate(),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const nodePlatform: CliPlatform = {
  name: "node",
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
  spawnIsolate,
  cwd: () => process.cwd(),
  args: () => process.argv.slice(2),
  exit: (code) => process.exit(code),
};
