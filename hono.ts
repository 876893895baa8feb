/** `import { stintApp } from "stint/hono"`: the monitoring sub-app. */
export { stintApp } from "./src/hono/app.ts";
export type { StintAppOptions } from "./src/hono/app.ts";
export { renderMetrics } from "./src/hono/metrics.ts";
