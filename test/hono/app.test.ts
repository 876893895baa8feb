/**
 * The monitoring sub-app at fetch level (libsql): auth, CSRF, read-only mode,
 * every POST action's effect on the database, JSON answers, error statuses and
 * links under both a "/stint" mount and the root.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask } from "../../mod.ts";
import { stintApp } from "../../hono.ts";
import { StintError } from "../../src/errors.ts";
import { fastRuntime, withStint } from "../support/harness.ts";
import { claim, failQueue, registerProcess } from "../support/driver.ts";
import { insertRows, row, saveStep, stepText, waitingParent } from "../support/rows.ts";
import { attributes, forms, libsql, mount, postJson, TOKEN } from "./support.ts";

const tick = defineTask("tick", () => null);
const welcome = defineTask("welcome", (_: { userId: number }) => "sent");
const onboard = defineTask("onboard", async ({ userId }: { userId: number }, ctx) => {
  const account = await ctx.step("account", () => ({ accountId: 9 }));
  await ctx.sleep("pause", "10ms");
  const [result] = await ctx.join("children", [await ctx.spawn("welcome", welcome, { userId })]);
  return { account, welcome: result.returnValue };
});
const importer = defineTask<{ importId: number; rows?: number }>("import", [
  function download(ws) {
    ws.rows = 3;
  },
  function store(ws) {
    return ws.rows;
  },
]);

describe("hono app", { skip: libsql.skip }, () => {
  describe("auth", () => {
    test("without the token every page answers 401 with WWW-Authenticate: Bearer and changes nothing", () =>
      withStint(libsql, {}, async (stint) => {
        const { id } = await stint.enqueue("t", null, { queue: "a" });
        const m = mount(stint);
        for (const path of ["/", "/stats.json", "/metrics", "/jobs", "/jobs?status=ready", `/jobs/${id}`, "/csrf"]) {
          const response = await m.request(path, { auth: false });
          assert.equal(response.status, 401, path);
          assert.equal(response.headers.get("www-authenticate"), "Bearer", path);
          assert.doesNotMatch(await response.text(), new RegExp(id), path);
        }
        const csrf = await m.csrf();
        const post = await m.request("/queues/a/pause", {
          auth: false,
          method: "POST",
          body: new URLSearchParams({ csrf }),
        });
        assert.equal(post.status, 401);
        assert.equal(await stint.queue("a").isPaused(), false);
      }));

    test("a wrong bearer token or cookie is 401; the right one is 200", () =>
      withStint(libsql, {}, async (stint) => {
        const m = mount(stint);
        for (
          const authorization of [
            `Bearer ${TOKEN}x`,
            `Bearer ${TOKEN.slice(0, -1)}`,
            "Bearer",
            TOKEN,
            `Basic ${btoa(`u:${TOKEN}`)}`,
          ]
        ) {
          const response = await m.get("/stats.json", { authorization });
          assert.equal(response.status, 401, authorization);
          assert.equal(response.headers.get("www-authenticate"), "Bearer");
        }
        const cookie = await m.request("/stats.json", { auth: false, headers: { cookie: "stint_token=nope" } });
        assert.equal(cookie.status, 401);
        for (const path of ["/", "/stats.json", "/metrics", "/jobs"]) {
          assert.equal((await m.get(path)).status, 200, path);
        }
        assert.equal(
          (await m.get("/stats.json", { authorization: `bearer ${TOKEN}` })).status,
          200,
          "the scheme is case-insensitive",
        );
      }));

    test("a browser without the token gets a login form that posts to the mount's /login", () =>
      withStint(libsql, {}, async (stint) => {
        for (const at of ["/stint", "/"]) {
          const m = mount(stint, { token: TOKEN }, at);
          for (const path of ["/", "/jobs?status=failed"]) {
            const response = await m.request(path, { auth: false, headers: { accept: "text/html" } });
            assert.equal(response.status, 401);
            assert.equal(response.headers.get("www-authenticate"), "Bearer");
            const [form] = forms(await response.text());
            assert.equal(form.action, `${m.prefix}/login`, `mounted at ${at}, GET ${path}`);
          }
        }
      }));

    test("/login with the right token sets an HttpOnly cookie that then works; a wrong one is 401", () =>
      withStint(libsql, {}, async (stint) => {
        for (const at of ["/stint", "/"]) {
          const m = mount(stint, { token: TOKEN }, at);
          const login = (token: string) =>
            m.request("/login", { auth: false, method: "POST", body: new URLSearchParams({ token }) });
          const wrong = await login("guess");
          assert.equal(wrong.status, 401);
          assert.equal(wrong.headers.get("set-cookie"), null);
          assert.match(await wrong.text(), /That token is not right/);
          assert.equal((await login("")).status, 401);

          const right = await login(TOKEN);
          assert.equal(right.status, 303);
          assert.equal(right.headers.get("location"), m.prefix || "/");
          const setCookie = right.headers.get("set-cookie") ?? "";
          assert.match(setCookie, /; HttpOnly/);
          assert.match(setCookie, /; SameSite=Strict/);
          assert.match(setCookie, new RegExp(`; Path=${m.prefix || "/"}(;|$)`));
          const cookie = setCookie.split(";")[0];
          for (const path of ["/", "/stats.json", "/metrics", "/jobs"]) {
            const response = await m.request(path, { auth: false, headers: { cookie } });
            assert.equal(response.status, 200, `${at} ${path} with the login cookie`);
          }
          assert.equal((await m.request("/login", { auth: false })).status, 200, "the login page itself is open");
        }
      }));

    test("without a token option nothing asks for one; an empty token is refused", () =>
      withStint(libsql, {}, async (stint) => {
        const m = mount(stint, {});
        assert.equal((await m.request("/stats.json", { auth: false })).status, 200);
        assert.throws(
          () => stintApp(stint, { token: "" }),
          (e: unknown) => e instanceof StintError && /token/.test(e.message),
        );
        const login = await m.request("/login", {
          auth: false,
          method: "POST",
          body: new URLSearchParams({ token: "x" }),
        });
        assert.equal(login.status, 401, "no token configured: /login never hands out a cookie");
      }));
  });

  describe("CSRF and read-only", () => {
    test("a POST without the CSRF field, with a wrong one, or from another origin is 403 and changes nothing", () =>
      withStint(libsql, {}, async (stint) => {
        await stint.enqueue("t", null, { queue: "a" });
        const m = mount(stint);
        const csrf = await m.csrf();
        const attempts: Array<[string, Record<string, string>, Record<string, string>]> = [
          ["no csrf field", {}, {}],
          ["wrong csrf", { csrf: csrf.replace(/.$/, (c) => (c === "0" ? "1" : "0")) }, {}],
          ["empty csrf", { csrf: "" }, {}],
          ["another origin", { csrf }, { origin: "http://evil.example", host: "localhost" }],
          ["another origin, no Host header", { csrf }, { origin: "http://evil.example" }],
          ["an opaque origin", { csrf }, { origin: "null", host: "localhost" }],
        ];
        for (const [what, fields, headers] of attempts) {
          const response = await m.request("/queues/a/pause", {
            method: "POST",
            body: new URLSearchParams(fields),
            headers,
          });
          assert.equal(response.status, 403, what);
          assert.equal(await stint.queue("a").isPaused(), false, what);
        }
        const viaHeader = await m.request("/queues/a/pause", {
          method: "POST",
          headers: { "x-stint-csrf": csrf, accept: "application/json" },
        });
        assert.equal(viaHeader.status, 200, "an API client may send the token as X-Stint-CSRF");
        assert.equal(await stint.queue("a").isPaused(), true);
      }));

    test("readOnly renders no buttons and refuses every POST with 403", () =>
      withStint(libsql, {}, async (stint) => {
        const { id } = await stint.enqueue("t", null, { queue: "a" });
        await stint.enqueue("t", null, { queue: "f" });
        const [failed] = await failQueue(stint, "f");
        const ro = mount(stint, { token: TOKEN, readOnly: true });
        for (const path of ["/", "/jobs?status=failed", "/jobs?status=ready", `/jobs/${id}`, `/jobs/${failed}`]) {
          const html = await ro.html(path);
          assert.doesNotMatch(html, /<form|<button/, path);
        }
        const rw = mount(stint);
        assert.ok(
          forms(await rw.html("/")).some((f) => f.label === "Pause"),
          "the same page has buttons when writable",
        );
        const posts = [
          "/queues/a/pause",
          "/queues/a/clear",
          `/jobs/${id}/cancel`,
          `/jobs/${failed}/retry`,
          "/failed/discard",
        ];
        for (const path of posts) assert.equal((await ro.post(path)).status, 403, `${path} (with a valid CSRF token)`);
        assert.equal(await stint.queue("a").isPaused(), false);
        assert.equal((await stint.getResult(id)).status, "ready");
        assert.equal((await stint.getResult(failed)).status, "failed");
      }));
  });

  describe("actions", () => {
    test("pause, resume and clear a queue, redirecting back with a flash message", () =>
      withStint(libsql, {}, async (stint) => {
        await stint.enqueue("t", null, { queue: "a" });
        await stint.enqueue("t", null, { queue: "a" });
        const { id: later } = await stint.enqueue("t", null, { queue: "a", delay: "1h" });
        const m = mount(stint);
        const pause = await m.post("/queues/a/pause");
        assert.equal(pause.status, 303);
        const location = new URL(pause.headers.get("location")!, "http://localhost");
        assert.equal(location.pathname, "/stint");
        assert.equal(location.searchParams.get("flash"), "paused a");
        assert.equal(await stint.queue("a").isPaused(), true);
        assert.match(
          await m.html(`/?flash=${encodeURIComponent("paused a")}`),
          /<div class="flash" role="status">paused a<\/div>/,
        );

        const back = await m.post("/queues/a/resume", {}, {
          referer: "http://localhost/stint/jobs?status=ready&queue=a",
        });
        assert.equal(back.headers.get("location"), "/stint/jobs?status=ready&queue=a&flash=resumed+a");
        assert.equal(await stint.queue("a").isPaused(), false);
        const elsewhere = await m.post("/queues/a/pause", {}, { referer: "http://evil.example/x" });
        assert.equal(
          new URL(elsewhere.headers.get("location")!, "http://x").pathname,
          "/stint",
          "never back to another host",
        );

        assert.deepEqual(await postJson(m, "/queues/a/clear"), {
          status: 200,
          body: { ok: true, message: "cleared 2 ready jobs" },
        });
        assert.equal(await stint.queue("a").size(), 0);
        assert.equal((await stint.getResult(later)).status, "scheduled", "clear leaves scheduled jobs");
      }));

    test("queue names with %, / and quotes reach the queue they name", () =>
      withStint(libsql, {}, async (stint) => {
        const names = ["50%off", "a%2Fb", "x/y", `q"'<&>`, "a b"];
        for (const name of names) await stint.enqueue("t", null, { queue: name });
        const m = mount(stint);
        const pauses = forms(await m.html("/")).filter((f) => f.label === "Pause");
        assert.equal(pauses.length, names.length);
        for (const form of pauses) {
          const response = await m.request(form.action.slice(m.prefix.length), {
            method: "POST",
            body: new URLSearchParams({ csrf: await m.csrf() }),
            headers: { accept: "application/json" },
          });
          assert.equal(response.status, 200, `${form.action}: ${await response.clone().text()}`);
        }
        for (const name of names) assert.equal(await stint.queue(name).isPaused(), true, name);
        assert.equal(await stint.queue("a/b").isPaused(), false, "a%2Fb is not decoded twice");
      }));

    test("retry, discard, cancel and enqueue again a job", () =>
      withStint(libsql, {}, async (stint) => {
        for (let i = 0; i < 3; i++) await stint.enqueue("t", { i }, { queue: "f", priority: 7 });
        const [a, b, c] = await failQueue(stint, "f", "boom");
        const { id: waiting } = await stint.enqueue("t", { w: 1 }, { queue: "w" });
        const m = mount(stint);

        assert.deepEqual(await postJson(m, `/jobs/${a}/retry`), {
          status: 200,
          body: { ok: true, message: "job retried" },
        });
        assert.equal((await stint.getResult(a)).status, "ready");
        const discard = await m.post(`/jobs/${b}/discard`, {}, { referer: `http://localhost/stint/jobs/${b}` });
        assert.equal(discard.headers.get("location"), `/stint/jobs/${b}?flash=job+discarded`);
        assert.equal((await stint.getResult(b)).status, "discarded");
        assert.deepEqual(await postJson(m, `/jobs/${waiting}/cancel`), {
          status: 200,
          body: { ok: true, message: "cancel: job is cancelled" },
        });
        assert.equal((await stint.getResult(waiting)).status, "cancelled");

        const again = await postJson(m, `/jobs/${c}/enqueue-again`);
        assert.equal(again.status, 200);
        const copyId = /^enqueued again as (\S+)$/.exec(again.body.message)?.[1];
        assert.ok(copyId && copyId !== c, again.body.message);
        const copy = await stint.getResult(copyId);
        assert.deepEqual([copy.status, copy.queue, copy.priority, copy.payload, copy.attempts], ["ready", "f", 7, {
          i: 2,
        }, 0]);
        assert.equal((await stint.getResult(c)).status, "failed", "the original stays failed");
      }));

    test("retry all and discard all failed jobs", () =>
      withStint(libsql, {}, async (stint) => {
        for (let i = 0; i < 3; i++) await stint.enqueue("t", null, { queue: "f" });
        const first = await failQueue(stint, "f");
        const m = mount(stint);
        const overview = forms(await m.html("/")).map((f) => f.action);
        assert.ok(
          overview.includes("/stint/failed/retry") && overview.includes("/stint/failed/discard"),
          overview.join(" "),
        );
        assert.deepEqual(await postJson(m, "/failed/retry"), {
          status: 200,
          body: { ok: true, message: "retried 3 failed jobs" },
        });
        for (const id of first) assert.equal((await stint.getResult(id)).status, "ready");
        const again = await failQueue(stint, "f");
        assert.equal(again.length, 3);
        assert.deepEqual(await postJson(m, "/failed/discard"), {
          status: 200,
          body: { ok: true, message: "discarded 3 failed jobs" },
        });
        for (const id of first) assert.equal((await stint.getResult(id)).status, "discarded");
        assert.equal((await stint.stats()).totals.failed, 0);
      }));

    test("unschedule a dynamic recurring task from its button", () =>
      withStint(libsql, { tasks: [tick], scheduler: { dynamicTasks: true } }, async (stint) => {
        await stint.schedule({ key: "nightly/report", task: tick, cron: "0 3 * * *", description: "every night" });
        const m = mount(stint);
        const html = await m.html("/");
        assert.match(html, /nightly\/report/);
        assert.match(html, /every night/);
        const button = forms(html).find((f) => f.label === "Unschedule");
        assert.ok(button, "the overview lists the dynamic task with an Unschedule button");
        assert.equal(button.action, `/stint/recurring/${encodeURIComponent("nightly/report")}/unschedule`);
        const response = await m.request(button.action.slice(m.prefix.length), {
          method: "POST",
          body: new URLSearchParams({ csrf: await m.csrf() }),
          headers: { accept: "application/json" },
        });
        assert.deepEqual(await response.json(), { ok: true, message: "removed 1 recurring task(s)" });
        assert.deepEqual((await stint.stats()).recurring, []);
        assert.deepEqual(await postJson(m, "/recurring/nightly%2Freport/unschedule"), {
          status: 200,
          body: { ok: true, message: "removed 0 recurring task(s)" },
        });
      }));

    test("refused actions answer 409 (404 for no such job) with ok: false and change nothing", () =>
      withStint(libsql, {}, async (stint) => {
        const { id: running } = await stint.enqueue("t", null, { queue: "r" });
        assert.equal((await claim(stint, await registerProcess(stint), ["r"], 1)).length, 1);
        const { id: ready } = await stint.enqueue("t", null, { queue: "q" });
        const m = mount(stint);
        const discard = await postJson(m, `/jobs/${running}/discard`);
        assert.equal(discard.status, 409);
        assert.equal(discard.body.ok, false);
        assert.match(discard.body.message, /running/);
        assert.equal((await stint.getResult(running)).status, "running");
        const retry = await postJson(m, `/jobs/${ready}/retry`);
        assert.deepEqual([retry.status, retry.body.ok], [409, false]);
        assert.match(retry.body.message, /only failed jobs can be retried/);
        assert.equal((await stint.getResult(ready)).status, "ready");
        const unknown = await postJson(m, `/jobs/${crypto.randomUUID()}/retry`);
        assert.deepEqual([unknown.status, unknown.body.ok], [404, false], "an id that names no job is a 404");
        const html = await m.post(`/jobs/${running}/discard`);
        assert.equal(html.status, 303, "a form post is redirected with the refusal as its flash");
        assert.match(new URL(html.headers.get("location")!, "http://x").searchParams.get("flash")!, /running/);
      }));
  });

  describe("pages", () => {
    test("404 for an unknown job, 400 for an unknown status filter", () =>
      withStint(libsql, {}, async (stint) => {
        const m = mount(stint);
        for (const id of [crypto.randomUUID(), "not-a-uuid"]) {
          assert.equal((await m.get(`/jobs/${id}`)).status, 404, id);
        }
        const bad = await m.get("/jobs?status=<b>bogus</b>");
        assert.equal(bad.status, 400);
        assert.equal((await m.get("/jobs?status=failed&before=not-an-id")).status, 400, "a bad page cursor");
        assert.equal((await m.get(`/jobs?status=failed&before=${crypto.randomUUID()}`)).status, 200);
        assert.match(bad.headers.get("content-type") ?? "", /^text\/plain/);
        for (
          const status of [
            "scheduled",
            "ready",
            "blocked",
            "running",
            "waiting",
            "succeeded",
            "failed",
            "discarded",
            "cancelled",
          ]
        ) {
          assert.equal((await m.get(`/jobs?status=${status}`)).status, 200, status);
        }
      }));

    test("a multi-step job's page shows its workspace, step, stored steps, children and parent", () =>
      withStint(libsql, {}, async (stint) => {
        const [id] = await insertRows(stint, [
          row("import", { importId: 42 }, { queue: "ms", step: stepText(1, "store", 3) }),
        ]);
        await saveStep(stint, "ms", "create-account", { accountId: 9 });
        const [child] = await insertRows(stint, [row("welcome", { to: "a@b" }, { queue: "kids", parentId: id })]);
        const m = mount(stint);
        const html = await m.html(`/jobs/${id}`);
        assert.match(html, /<td>step<\/td><td>store \(2 of 3\)<\/td>/);
        assert.ok(
          html.includes("<h2>Workspace</h2><pre>{\n  &quot;importId&quot;: 42\n}</pre>"),
          "the workspace is the payload before a step completed",
        );
        assert.match(html, /<h2>Durable steps<\/h2>.*<td>create-account<\/td><td>step<\/td><td><pre>\{\n {2}&quot;accountId&quot;: 9\n\}<\/pre>/s);
        assert.match(html, /<h2>Children<\/h2>/);
        assert.ok(attributes(html, "href").includes(`/stint/jobs/${child}`), "the child links to its page");
        assert.match(html, /<td>welcome<\/td><td>kids<\/td><td>ready<\/td>/);
        assert.doesNotMatch(html, /<td>parent<\/td>/, "a job without a parent shows none");

        const childPage = await m.html(`/jobs/${child}`);
        assert.match(childPage, /<td>parent<\/td>/);
        assert.ok(attributes(childPage, "href").includes(`/stint/jobs/${id}`), "the child links to its parent");
        assert.doesNotMatch(childPage, /<h2>(Workspace|Durable steps|Children)<\/h2>|<td>step<\/td>/, "a plain job shows none of them");

        const [parent, waited] = await waitingParent(stint, "wq");
        const waitingPage = await m.html(`/jobs/${parent}`);
        assert.match(waitingPage, /<td>status<\/td><td>waiting<\/td>/);
        assert.deepEqual(
          forms(waitingPage).map((f) => f.label),
          ["Discard", "Cancel", "Enqueue again"],
          "a waiting parent can be discarded or cancelled",
        );
        assert.ok(
          attributes(await m.html("/jobs?status=waiting"), "href").includes(`/stint/jobs/${parent}`),
          "the waiting list shows the parent",
        );
        assert.deepEqual(await postJson(m, `/jobs/${parent}/cancel`), {
          status: 200,
          body: { ok: true, message: "cancel: job is cancelled" },
        });
        assert.equal((await stint.getResult(waited)).status, "cancelled", "its child that had not ended goes with it");
      }));

    test("after a real run: the parent's page shows its stored step and joined child, the workflow its workspace", () =>
      withStint(libsql, { tasks: [welcome, onboard, importer], ...fastRuntime({ queues: ["*"] }) }, async (stint) => {
        const { id } = await stint.enqueue(onboard, { userId: 7 });
        const { id: imported } = await stint.enqueue(importer, { importId: 42 });
        const supervisor = await stint.start({ mode: "async" });
        try {
          assert.equal((await stint.waitFor(id, { timeout: 30_000 })).status, "succeeded");
          assert.equal((await stint.waitFor(imported, { timeout: 30_000 })).status, "succeeded");
        } finally {
          await supervisor.stop();
        }
        const [child] = await stint.jobs({ parentId: id });
        assert.deepEqual([child.task, child.status, child.parentId], ["welcome", "succeeded", id]);
        assert.deepEqual(await stint.jobs({ task: "onboard", where: { userId: 7 } }).then((j) => j.map((x) => x.id)), [id]);
        const m = mount(stint);
        const parent = await m.html(`/jobs/${id}`);
        assert.match(parent, /<td>account<\/td><td>step<\/td><td><pre>\{\n {2}&quot;accountId&quot;: 9\n\}<\/pre>/);
        assert.match(parent, /<td>pause<\/td><td>sleep<\/td><td>until <time datetime="/, "a sleep shows when it ends");
        assert.match(parent, new RegExp(`<td>welcome</td><td>spawn</td><td><a href="/stint/jobs/${child.id}">`), "the spawn links its child");
        assert.match(parent, /<h2>Children<\/h2>/);
        assert.ok(attributes(parent, "href").includes(`/stint/jobs/${child.id}`), "the child links to its page");
        assert.ok(attributes(await m.html(`/jobs/${child.id}`), "href").includes(`/stint/jobs/${id}`), "and back");
        const result = await stint.getResult(imported);
        assert.deepEqual(result.workspace, { importId: 42, rows: 3 });
        assert.deepEqual(result.step, { index: 1, name: "store", count: 2 }, "the last step ran");
        assert.deepEqual(await stint.jobs({ where: { rows: 3 } }).then((j) => j.map((x) => x.id)), [imported]);
        assert.ok((await m.html(`/jobs/${imported}`)).includes("&quot;rows&quot;: 3"), "the final workspace is shown");
      }));

    for (const at of ["/stint", "/"]) {
      test(`every link and form under a mount at ${at} stays under it and resolves`, () =>
        withStint(libsql, {}, async (stint) => {
          await stint.enqueue("t", { n: 1 }, { queue: "a" });
          await stint.enqueue("t", null, { queue: "a", delay: "1h" });
          await stint.enqueue("t", null, { queue: "f" });
          const [failed] = await failQueue(stint, "f");
          const [parent, child] = await waitingParent(stint, "w");
          const m = mount(stint, { token: TOKEN }, at);
          const pages = [
            "/",
            "/jobs?status=failed",
            "/jobs?status=scheduled&queue=a",
            `/jobs/${failed}`,
            `/jobs/${parent}`,
            `/jobs/${child}`,
          ];
          const hrefs = new Set<string>();
          for (const page of pages) {
            const html = await m.html(page);
            const found = [...attributes(html, "href"), ...attributes(html, "action")];
            assert.ok(found.length > 5, page);
            for (const link of found) {
              assert.ok(
                link.startsWith(`${m.prefix}/`) || link === (m.prefix || "/"),
                `${page}: ${link} is outside ${at}`,
              );
            }
            for (const href of attributes(html, "href")) hrefs.add(href);
          }
          assert.ok(hrefs.has(`${m.prefix}/jobs/${failed}`), "the failed job links to its page");
          assert.ok(hrefs.has(`${m.prefix}/jobs?status=ready&queue=a`), "queue counts link to their jobs");
          assert.ok(hrefs.has(`${m.prefix}/jobs?status=waiting&queue=w`), "so do waiting counts");
          assert.ok(hrefs.has(`${m.prefix}/jobs/${child}`) && hrefs.has(`${m.prefix}/jobs/${parent}`), "parent and child link each other");
          for (const href of hrefs) {
            const response = await m.get(href.slice(m.prefix.length) || "/");
            assert.equal(response.status, 200, `GET ${href}`);
          }
        }));
    }
  });
});
