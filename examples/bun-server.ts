/**
 * Stint embedded in a Bun server: `bun examples/bun-server.ts`.
 *
 *   curl -X POST 'http://127.0.0.1:3000/add?a=1&b=2'       → {"id":"…"}
 *   curl -X POST 'http://127.0.0.1:3000/add?a=1&b=2&wait'  → the job's result, once it has ended
 *   curl 'http://127.0.0.1:3000/jobs/<id>'                  → the job's result
 *   open http://127.0.0.1:3000/stint                        → the dashboard
 *
 * The runtime runs in the server's own event loop (mode "async") and installs
 * no signal handlers; the server decides when to stop it.
 */
import process from "node:process";
import { Hono } from "hono";
import { createStint } from "../mod.ts";
import { stintApp } from "../hono.ts";
import * as tasks from "./tasks.ts";

// Bun's global, declared so that `deno check` passes without Bun's type package.
declare const Bun: {
  serve(options: { port: number; hostname?: string; fetch: (request: Request) => Response | Promise<Response> }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
};

const stint = await createStint({ url: process.env.STINT_DATABASE_URL ?? "file:stint-server.db", tasks });
await stint.migrate();
const supervisor = await stint.start(); // embedded: async mode, no signal handlers

const app = new Hono();
app.post("/add", async (c) => {
  const job = await stint.enqueue(tasks.add, { a: Number(c.req.query("a")), b: Number(c.req.query("b")) });
  if (c.req.query("wait") === undefined) return c.json(job, 202);
  return c.json(await stint.waitFor(job, { timeout: "30s" })); // once the job has ended
});
app.get("/jobs/:id", async (c) => c.json(await stint.getResult(c.req.param("id"))));
app.route("/stint", stintApp(stint));
app.onError((error, c) => c.json({ error: error.name, message: error.message }, error.name === "JobNotFoundError" ? 404 : 400));

const server = Bun.serve({ port: Number(process.env.PORT ?? 3000), hostname: "127.0.0.1", fetch: app.fetch });
console.log(`listening on http://127.0.0.1:${server.port}`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop(true);
  await supervisor.stop();
  await stint.close();
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
