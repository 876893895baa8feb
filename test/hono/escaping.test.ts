/** Everything user-controlled is escaped on every page of the dashboard (libsql). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask } from "../../mod.ts";
import { withStint } from "../support/harness.ts";
import { failQueue, succeedQueue } from "../support/driver.ts";
import { insertRows, row, saveStep, stepText } from "../support/rows.ts";
import { forms, libsql, mount, TOKEN, XSS, XSS_ESCAPED } from "./support.ts";

const evil = defineTask(XSS, (_: unknown) => null);
const SHOWN = "&lt;script&gt;alert(1)&lt;/script&gt;";

function assertEscaped(html: string, where: string): void {
  assert.ok(!html.includes(XSS), `${where}: the raw value appears`);
  assert.doesNotMatch(html, /<script|<img/i, `${where}: markup from data reached the page`);
  assert.ok(html.includes(SHOWN), `${where}: the value is shown (escaped)`);
}

describe("hono escaping", { skip: libsql.skip }, () => {
  test("queue, task, payload, error, return value, recurring task and flash are escaped on every page", () =>
    withStint(libsql, { tasks: [evil], scheduler: { dynamicTasks: true } }, async (stint) => {
      const payload = { html: XSS, img: `<img src=x onerror="alert(2)">` };
      const { id: ready } = await stint.enqueue(XSS, payload, { queue: XSS });
      const { id: later } = await stint.enqueue(XSS, payload, { queue: XSS, delay: "1h" });
      await stint.enqueue(XSS, payload, { queue: "f" });
      const [failed] = await failQueue(stint, "f", `${XSS} <img src=x onerror="alert(3)">`);
      await stint.enqueue(XSS, null, { queue: "s" });
      const [succeeded] = await succeedQueue(stint, "s", { out: XSS });
      await stint.schedule({
        key: `key${XSS}`,
        task: evil,
        cron: "0 3 * * *",
        description: `${XSS} nightly`,
        queue: XSS,
      });

      const m = mount(stint);
      const q = encodeURIComponent(XSS);
      const pages = [
        "/",
        `/?flash=${q}`,
        "/jobs?status=failed",
        "/jobs?status=succeeded",
        "/jobs?status=scheduled",
        `/jobs?status=ready&queue=${q}`,
        `/jobs/${ready}`,
        `/jobs/${later}`,
        `/jobs/${failed}`,
        `/jobs/${succeeded}`,
      ];
      for (const page of pages) assertEscaped(await m.html(page), page);
      const failedPage = await m.html(`/jobs/${failed}`);
      assert.ok(
        failedPage.includes(`${XSS_ESCAPED} &lt;img src=x onerror=&quot;alert(3)&quot;&gt;`),
        "the error message is shown as text",
      );
      assert.ok(
        (await m.html(`/jobs/${succeeded}`)).includes("&quot;out&quot;: &quot;&lt;script&gt;"),
        "the return value is shown",
      );
      const overview = await m.html("/");
      assert.ok(overview.includes(`key${XSS_ESCAPED}`), "the recurring task's key is shown");
      assert.ok(overview.includes(`${XSS_ESCAPED} nightly`), "the recurring task's description is shown");

      const login = await m.request(`/jobs?status=failed&flash=${q}`, {
        auth: false,
        headers: { accept: "text/html" },
      });
      assert.equal(login.status, 401);
      assert.ok(!(await login.text()).includes(XSS), "the login page does not echo the flash unescaped");
      const bad = await m.get(`/jobs?status=${q}`);
      assert.equal(bad.status, 400);
      assert.match(
        bad.headers.get("content-type") ?? "",
        /^text\/plain/,
        "an echoed bad filter is plain text, not HTML",
      );
    }));

  test("a multi-step job's workspace, step name, stored steps and children are escaped", () =>
    withStint(libsql, {}, async (stint) => {
      const [id] = await insertRows(stint, [
        row(XSS, { html: XSS }, { queue: "ms", step: stepText(0, `${XSS} step`, 2) }),
      ]);
      await saveStep(stint, "ms", `${XSS} memo`, { out: `${XSS} stored` });
      const [child] = await insertRows(stint, [row(`${XSS} child`, { html: XSS }, { queue: XSS, parentId: id })]);
      const m = mount(stint);
      const parent = await m.html(`/jobs/${id}`);
      assertEscaped(parent, "the multi-step job's page");
      // The stored result is shown as JSON, its double quote escaped as \" first.
      const stored = `&quot;out&quot;: &quot;${SHOWN}\\&quot;&#39; stored&quot;`;
      for (const shown of [`${XSS_ESCAPED} step (1 of 2)`, `${XSS_ESCAPED} memo`, stored, `${XSS_ESCAPED} child`]) {
        assert.ok(parent.includes(shown), `shows ${shown}`);
      }
      assertEscaped(await m.html(`/jobs/${child}`), "the child's page");
    }));

  test("a confirm() message built from a queue name stays a JavaScript string", () =>
    withStint(libsql, {}, async (stint) => {
      const names = [`x');alert(1);//`, `x");alert(1);//`, `a\\'b</script>`, "line\nbreak\u2028end"];
      for (const name of names) await stint.enqueue("t", null, { queue: name });
      const m = mount(stint, { token: TOKEN });
      const clears = forms(await m.html("/")).filter((f) => f.label === "Clear");
      assert.equal(clears.length, names.length);
      const messages = clears.map((form) => {
        // What the browser runs: the attribute value after HTML decoding.
        const call = /^return confirm\((.*)\)$/s.exec(form.onsubmit ?? "");
        assert.ok(call, `onsubmit is one confirm() call: ${form.onsubmit}`);
        return JSON.parse(call[1]) as string; // a JSON string literal is a JS string literal
      });
      assert.deepEqual(messages.sort(), names.map((n) => `Remove every ready job of ${n}?`).sort());
    }));
});
