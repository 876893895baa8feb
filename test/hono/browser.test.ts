/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core):
 * sign in, pause a queue, retry a failed job from its page, clear a queue whose
 * name tries to break out of the confirm() message, and no user data ever runs
 * as script. Skipped, with the reason, when there is no chromium binary
 * (test/run.sh installs it when run as root).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { type Browser, chromium, type Dialog } from "playwright-core";
import { stintApp } from "../../hono.ts";
import { serve } from "../../adapters/serve.ts";
import { env } from "../support/env.ts";
import { withStint } from "../support/harness.ts";
import { failQueue } from "../support/driver.ts";
import { libsql, TOKEN } from "./support.ts";

const CHROMIUM = env("STINT_CHROMIUM") ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOT = fileURLToPath(new URL("../../tmp/hono-dashboard.png", import.meta.url));
/** Would call alert() inside confirm(...) if the message were pasted into JS unescaped. */
const EVIL_QUEUE = `x'+alert('queue')+'`;
const SCRIPTED = `<script>alert('error')</script><img src=x onerror="window.__xss=1">`;

const skip = libsql.skip ??
  (existsSync(CHROMIUM)
    ? undefined
    : `no browser at ${CHROMIUM} (test/run.sh installs Debian's chromium as root; or set STINT_CHROMIUM)`);

if (skip) console.warn(`hono dashboard in a browser: skipped: ${skip}`);

describe("hono dashboard in a browser", () => {
  test(
    "sign in, pause a queue, retry a failed job, clear a queue; user data never runs as script",
    { skip },
    () =>
      withStint(libsql, {}, async (stint) => {
        await stint.enqueue("send_mail", { to: "ada@example.com" }, { queue: "mail" });
        await stint.enqueue("send_mail", { to: "grace@example.com" }, { queue: "mail" });
        await stint.enqueue("charge", { note: SCRIPTED }, { queue: "billing" });
        const [failed] = await failQueue(stint, "billing", SCRIPTED);
        await stint.enqueue("noop", null, { queue: EVIL_QUEUE });

        const app = new Hono();
        app.route("/stint", stintApp(stint, { token: TOKEN }));
        const server = await serve(app.fetch, { port: 0 });
        const base = `http://127.0.0.1:${server.port}`;
        let browser: Browser | null = null;
        try {
          browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
          const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
          const page = await context.newPage();
          page.setDefaultTimeout(5000);
          const dialogs: Array<{ type: string; message: string }> = [];
          page.on("dialog", (dialog: Dialog) => {
            dialogs.push({ type: dialog.type(), message: dialog.message() });
            void (dialog.type() === "confirm" ? dialog.accept() : dialog.dismiss());
          });
          const flash = page.locator(".flash");

          // Signing in: the 401 page is a login form; a wrong token is refused, the right one lands on the overview.
          const first = await page.goto(`${base}/stint`);
          assert.equal(first?.status(), 401);
          await page.fill('input[name="token"]', "wrong");
          await page.getByRole("button", { name: "Sign in" }).click();
          await page.getByText("That token is not right.").waitFor();
          await page.fill('input[name="token"]', TOKEN);
          await page.getByRole("button", { name: "Sign in" }).click();
          await page.getByRole("heading", { name: "Overview" }).waitFor();
          assert.equal(new URL(page.url()).pathname, "/stint");
          const [cookie] = await context.cookies();
          assert.deepEqual([cookie?.name, cookie?.httpOnly, cookie?.path], ["stint_token", true, "/stint"]);
          assert.equal(await page.evaluate("document.cookie"), "", "the token cookie is invisible to scripts");

          // The overview: one row per queue.
          const row = (queue: string) =>
            page.locator("tr").filter({ has: page.getByRole("cell", { name: queue, exact: true }) });
          for (const queue of ["mail", "billing", EVIL_QUEUE]) assert.equal(await row(queue).count(), 1, queue);
          assert.equal(await row("mail").locator("td").nth(1).innerText(), "2", "mail has 2 ready jobs");

          // Pause mail.
          await row("mail").getByRole("button", { name: "Pause" }).click();
          await flash.filter({ hasText: "paused mail" }).waitFor();
          assert.equal(await row("mail").locator(".paused").innerText(), "paused");
          assert.equal(await row("mail").getByRole("button", { name: "Resume" }).count(), 1);
          assert.equal(await stint.queue("mail").isPaused(), true);
          mkdirSync(dirname(SCREENSHOT), { recursive: true });
          await page.screenshot({ path: SCREENSHOT, fullPage: true }); // the overview with all three queues, one paused

          // Failed jobs → the job → Retry.
          await page.getByRole("link", { name: "Failed", exact: true }).click();
          await page.getByRole("heading", { name: "failed jobs" }).waitFor();
          await page.locator(`a[href="/stint/jobs/${failed}"]`).click();
          await page.getByRole("heading", { name: `Job ${failed}` }).waitFor();
          const errorText = await page.locator("pre").filter({ hasText: "TestFailure" }).innerText();
          assert.ok(errorText.includes(SCRIPTED), `the error message is shown as text: ${errorText}`);
          const field = (name: string) =>
            page.locator("tr").filter({ has: page.getByRole("cell", { name, exact: true }) }).locator("td").nth(1);
          assert.equal(await field("status").innerText(), "failed");
          await page.getByRole("button", { name: "Retry", exact: true }).click();
          await flash.filter({ hasText: "job retried" }).waitFor();
          assert.equal(await field("status").innerText(), "ready");
          assert.equal((await stint.getResult(failed)).status, "ready");

          // Clear the queue whose name tries to escape the confirm() message.
          await page.getByRole("link", { name: "Overview" }).click();
          await row(EVIL_QUEUE).getByRole("button", { name: "Clear" }).click();
          await flash.filter({ hasText: "cleared 1 ready jobs" }).waitFor();
          assert.equal(await stint.queue(EVIL_QUEUE).size(), 0);

          assert.deepEqual(
            dialogs,
            [{ type: "confirm", message: `Remove every ready job of ${EVIL_QUEUE}?` }],
            "only the confirm dialog",
          );
          assert.equal(
            await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss),
            undefined,
            "no injected handler ran",
          );
        } finally {
          await browser?.close();
          await server.stop();
        }
      }),
  );
});
