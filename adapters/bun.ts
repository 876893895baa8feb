/** Bun's side of the Platform interface (Bun implements Node's process and os). */
import type { Platform } from "../src/platform.ts";
import { hostname } from "node:os";
import process from "node:process";

export const bunPlatform: Platform = {
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
};
