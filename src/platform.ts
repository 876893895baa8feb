/**
 * What the core needs from the runtime it runs on. adapters/deno.ts and
 * adapters/bun.ts supply it; the core never reaches for Deno or Bun globals.
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
}
