/** Deno's side of the Platform interface. */
import type { Platform } from "../src/platform.ts";

// deno-lint-ignore no-explicit-any
const D = (globalThis as any).Deno;

export const denoPlatform: Platform = {
  name: "deno",
  get pid() {
    return D.pid as number;
  },
  hostname: () => D.hostname() as string,
  env: (name) => {
    try {
      return D.env.get(name) ?? undefined;
    } catch {
      return undefined; // no --allow-env
    }
  },
  onSignal(signal, handler) {
    D.addSignalListener(signal, handler);
    return () => D.removeSignalListener(signal, handler);
  },
};
