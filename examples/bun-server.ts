/**
 * Stint embedded in a Bun server: `bun examples/bun-server.ts` (Deno: `deno run -A examples/bun-server.ts`).
 *
 *   curl -X POST 'http://127.0.0.1:3000/add?a=1&b=2'    → {"id":"…"}
 *   curl 'http://127.0.0.1:3000/jobs/<id>'               → the job's result
 *   open http://127.0.0.1:3000/stint                     → the dashboard
 *
 * The runtime runs in the server's own event loop (mode "async") and installs
 * no signal handlers; the server decides when to stop it.
 */
import { Hono } from "hono";
import { createStint } from "../mod.ts";
import { stintApp } from "../hono.ts";
import { serve } from "../adapters/serve.ts";
import { detectPlatform } from "../adapters/mod.ts";
import * as tasks from "./tasks.ts";

const platform = await detectPlatform();
const stint = await createStint({ url: platform.env("STINT_DATABASE_URL") ?? "file:stint-server.db", tasks });
await stint.migrate();
const supervisor = await stint.start(); // embedded: async mode, no signal handlers

const app = new Hono();
app.post("/add", async (c) => {
  const a = Number(c.req.query("a"));
  const b = Number(c.req.query("b"));
  const job = await stint.enqueue(tasks.add, { a, b });
  return c.json(job, 202);
});
app.get("/jobs/:id", async (c) => c.json(await stint.getResult(c.req.param("id"))));
app.route("/stint", stintApp(stint));
app.onError((error, c) => c.json({ error: error.name, message: error.message }, error.name === "JobNotFoundError" ? 404 : 400));

const server = serve(app.fetch, { port: Number(platform.env("PORT") ?? 3000) });
console.log(`listening on http://127.0.0.1:${server.port}`);
const stop = async () => {
  await server.stop();
  await supervisor.stop();
  await stint.close();
};
platform.onSignal("SIGINT", () => void stop());
platform.onSignal("SIGTERM", () => void stop());
