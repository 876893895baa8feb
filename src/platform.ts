/**
 * What the core needs from the runtime it runs on. adapters/deno.ts, bun.ts
 * and node.ts supply it; the core never reaches for a runtime's globals.
 * What only the command line needs (args, cwd, exit) is adapters/mod.ts's CliPlatform.
 */
export interface Platform {
  readonly name: string;
  readonly pid: number;
  hostname(): string;
  env(name: string): string | undefined;
  /** Installs a signal handler; returns a function that removes it. */
  onSignal(signal: "SIGTERM" | "SIGINT" | "SIGQUIT", handler: () => void): () => void;
  /** Whether a process with this pid exists (one we may not signal counts as existing). */
  processExists(pid: number): boolean;
  /** The pid namespace this process is in (pids are comparable only within one), or null when unknown. */
  pidNamespace?(): string | null;
  /** Reads a text file; null when it does not exist. */
  readTextFile(path: string): Promise<string | null>;
  writeTextFile(path: string, text: string): Promise<void>;
  removeFile(path: string): Promise<void>;
  /**
   * Starts one worker-mode isolate running the module at `url` (src/runtime/isolate.ts) with a
   * Web Worker's global shape (postMessage, addEventListener("message"), close). Only where there
   * is no Web Worker (Node): without it the pool makes `new Worker(url, { type: "module" })`.
   */
  spawnIsolate?(url: string, name: string): IsolateWorker;
}

/** What an isolate is told by the runtime: `data` on "message", `message` on "error" and "messageerror". */
export interface IsolateEvent {
  readonly data?: unknown;
  readonly message?: string;
  preventDefault?(): void;
}

/** The part of a Web Worker the isolate pool uses; "close" means the isolate exited. */
export interface IsolateWorker {
  postMessage(message: unknown): void;
  addEventListener(type: "message" | "error" | "messageerror" | "close", listener: (event: IsolateEvent) => void): void;
  terminate(): void;
}
