/**
 * What the core needs from the runtime it runs on. adapters/deno.ts and
 * adapters/bun.ts supply it; the core never reaches for Deno or Bun globals.
 */
export interface Platform {
  readonly name: string;
  readonly pid: number;
  hostname(): string;
  env(name: string): string | undefined;
  /** Installs a signal handler; returns a function that removes it. */
  onSignal(signal: "SIGTERM" | "SIGINT" | "SIGQUIT", handler: () => void): () => void;
}
