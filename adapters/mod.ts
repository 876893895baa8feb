/** Picks the Platform for the runtime this code is running on. */
import type { CliPlatform } from "./cli-platform.ts";

export type { CliPlatform };

export async function detectPlatform(): Promise<CliPlatform> {
  if ("Deno" in globalThis) return (await import("./deno.ts")).denoPlatform;
  if ("Bun" in globalThis) return (await import("./bun.ts")).bunPlatform;
  return (await import("./node.ts")).nodePlatform;
}
