/** Picks the Platform for the runtime this code is running on. */
import type { CliPlatform } from "./cli-platform.ts";

export type { CliPlatform };

export async function detectPlatform(): Promise<CliPlatform> {
  if ("Deno" in globalThis) return (await import("./deno.ts")).denoPlatform;
  // Bun and Node share the process/os API that adapters/bun.ts uses.
  return (await import("./bun.ts")).bunPlatform;
}
