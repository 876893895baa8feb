/** `import { stintApp } from "stint/hono"`: the monitoring sub-app. */
export { stintApp } from "./src/hono/app.ts";
export type { StintAppOptions } from "./src/hono/app.ts";
export { renderMetrics } from "./src/hono/metrics.ts";
/** Serves a fetch handler (a Hono app's `fetch`) on Deno, Bun or Node: `await serve(app.fetch, { port })`. */
export { serve } from "./adapters/serve.ts";
