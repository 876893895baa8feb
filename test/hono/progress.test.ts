/** The dashboard shows a job's progress (DESIGN §12): in the running list, and on the job page after it ended (libsql). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask } from "../../mod.ts";
import { withStint } from "../support/harness.ts";
import { waitFor } from "../support/wait.ts";
import { libsql, mount, XSS } from "./support.ts";

let release: () => void = () => {};
const reports = defineTask("reports", async (_: null, ctx) => {
  ctx.progress({ done: 3, of: 10, note: XSS });
  await new Promise<void>((resolve) => (release = resolve));
  ctx.progress({ done: 10, of: 10 });
  return null;
});

describe("hono: progress", { skip: libsql.skip }, () => {
  test("the running list and the job page show the latest progress, escaped", () =>
    withStint(libsql, {
      tasks: [reports],
      workers: [{ pollingInterval: "20ms" }],
      dispatchers: [{ pollingInterval: "20ms" }],
      shutdownTimeout: "1s",
    }, async (stint) => {
      const { id } = await stint.enqueue(reports, null);
      await stint.start({ mode: "async" });
      await waitFor("the first progress", async () => (await stint.getResult(id)).progress !== null, {
        timeout: 10_000,
      });
      const m = mount(stint);
      const list = await m.html("/jobs?status=running");
      assert.match(list, /<th[^>]*>progress<\/th>/);
      assert.ok(list.includes("{&quot;done&quot;:3,&quot;of&quot;:10"), "the running list shows the progress");
      assert.ok(!list.includes(XSS), "escaped");
      const running = await m.html(`/jobs/${id}`);
      assert.match(running, /<h2>Progress<\/h2>/);
      assert.ok(!running.includes(XSS), "escaped");
      release();
      const done = await stint.waitFor(id, { timeout: "10s" });
      assert.deepEqual(done.progress, { done: 10, of: 10 });
      const page = await m.html(`/jobs/${id}`);
      assert.match(page, /<h2>Progress<\/h2><pre>\{\n {2}&quot;done&quot;: 10,/);
    }));
});
