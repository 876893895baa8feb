/** Bun's side of the Platform interface and of CliPlatform (Bun implements Node's process, os and fs). */
import type { CliPlatform } from "./cli-platform.ts";
import { nodeApiPlatform } from "./node-api.ts";

export const bunPlatform: CliPlatform = nodeApiPlatform("bun");
