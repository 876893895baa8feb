/** Picks the Platform for the runtime this code is running on. */
import type { Platform } from "../src/platform.ts";

export async function detectPlatform(): Promise<Platform> {
  if ("Deno" in globalThis) return (await import("./deno.ts")).denoPlatform;
  // Bun and Node share the process/os API that adapters/bun.ts uses.
  return (await import("./bun.ts")).bunPlatform;
}
