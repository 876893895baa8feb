/**
 * Node's side of the Platform interface and of CliPlatform. Node has no Web
 * Worker: worker-mode isolates are node:worker_threads threads, started on
 * node-isolate.ts, which gives them a Web Worker's global shape, and handed to
 * the pool behind the few Web Worker members it uses (Platform.spawnIsolate).
 */
import type { CliPlatform } from "./cli-platform.ts";
import type { IsolateWorker } from "../src/platform.ts";
import { nodeApiPlatform } from "./node-api.ts";
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

export const nodePlatform: CliPlatform = { ...nodeApiPlatform("node"), spawnIsolate };
