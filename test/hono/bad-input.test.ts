/**
 * The monitoring sub-app under malformed input (libsql): options that would
 * serve an open or broken dashboard are a ConfigError naming the key; bad
 * filters, names, cookies, Authorization headers and bodies are a 4xx that
 * names the problem, never a 500, and change nothing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { stintApp } from "../../hono.ts";
import { ConfigError } from "../../src/errors.ts";
import { withStint } from "../support/harness.ts";
import { libsql, mount, TOKEN } from "./support.ts";

describe("hono app: bad input", { skip: libsql.skip }, () => {
  test("stintApp refuses unknown option keys, bad tokens and a non-boolean readOnly with a ConfigError naming the key", () =>
    // deno-lint-ignore require-await
    withStint(libsql, {}, async (stint) => {
      const refused = (options: unknown, key: RegExp, secret?: string) =>
        assert.throws(
          () => stintApp(stint, options as never),
          (e: unknown) => {
            assert.ok(e instanceof ConfigError, `${JSON.stringify(options)}: ${e}`);
            assert.match(e.message, key, JSON.stringify(options));
            if (secret) assert.ok(!e.message.includes(secret), `the message must not echo the token: ${e.message}`);
            return true;
          },
        );
      // The typo used to serve an open dashboard: no token was ever asked for.
      refused({ tokn: TOKEN }, /"tokn"/, TOKEN);
      refused({ token: TOKEN, readonly: true }, /"readonly"/);
      refused({ token: "" }, /token/);
      refused({ token: "   " }, /token/);
      refused({ token: ` ${TOKEN} ` }, /token.*surrounding spaces/, TOKEN);
      refused({ token: "abc" }, /token.*at least 8/, "abc");
      refused({ token: 12345678 }, /token must be a string/);
      refused({ token: null }, /token must be a string/);
      refused({ token: TOKEN, readOnly: "yes" }, /readOnly/);
      refused({ token: TOKEN, readOnly: 1 }, /readOnly/);
      refused(null, /options must be an object/);
      refused("s3cret-T0ken", /options must be an object/);
      assert.throws(() => stintApp(null as never), ConfigError);
      assert.ok(stintApp(stint, { token: TOKEN, readOnly: true }) instanceof Hono);
      assert.ok(stintApp(stint) instanceof Hono, "no options at all is an open dashboard, as documented");
    }));

  test("a queue filter with a NUL byte or past the name length is a 400 naming the filter", () =>
    withStint(libsql, {}, async (stint) => {
      await stint.enqueue("t", null, { queue: "a" });
      const m = mount(stint);
      for (const queue of ["a\0b", "a\0", "\0", "x".repeat(201)]) {
        for (const status of ["ready", "failed"]) {
          const response = await m.get(`/jobs?status=${status}&queue=${encodeURIComponent(queue)}`);
          const body = await response.text();
          assert.equal(response.status, 400, `${JSON.stringify(queue.slice(0, 10))}: ${body.slice(0, 200)}`);
          assert.match(body, /^queue .* is not a valid name\n$/);
          assert.ok(!body.includes("\0"), "the answer never carries the NUL back");
        }
      }
      assert.equal((await m.get("/jobs?status=ready&queue=a")).status, 200);
      const status = await m.get("/jobs?status=%00");
      assert.equal(status.status, 400);
      assert.equal(await status.text(), 'unknown status "\\u0000"\n');
    }));

  test("a malformed cookie or Authorization header is a 401, not a 500", () =>
    withStint(libsql, {}, async (stint) => {
      const m = mount(stint);
      for (const cookie of ["stint_token=%", "stint_token=%E0%A4%A", "stint_token=%zz", "a=1; stint_token=%ff%", "stint_token"]) {
        for (const accept of ["application/json", "text/html"]) {
          const response = await m.request("/stats.json", { auth: false, headers: { cookie, accept } });
          assert.equal(response.status, 401, `cookie ${cookie}, accept ${accept}`);
          assert.equal(response.headers.get("www-authenticate"), "Bearer");
          await response.body?.cancel();
        }
      }
      for (
        const authorization of ["Bearer", "Bearer ", "Bearer %", "Bearer a b c", "Bearer\t", "Basic !!!", "\u00ff\u00fe", ","]
      ) {
        const response = await m.request("/stats.json", { auth: false, headers: { authorization } });
        assert.equal(response.status, 401, JSON.stringify(authorization));
        await response.body?.cancel();
      }
      const both = await m.request("/stats.json", {
        auth: false,
        headers: { authorization: `Bearer ${TOKEN}`, cookie: "stint_token=%" },
      });
      assert.equal(both.status, 200, "a malformed cookie beside the right bearer token does not break the request");
      await both.body?.cancel();
    }));

  test("a POST body that claims to be a form and is not one is a 400 and changes nothing", () =>
    withStint(libsql, {}, async (stint) => {
      await stint.enqueue("t", null, { queue: "a" });
      const m = mount(stint);
      const csrf = await m.csrf();
      for (const contentType of ["multipart/form-data", "multipart/form-data; boundary=x"]) {
        const response = await m.request("/queues/a/pause", {
          method: "POST",
          body: "garbage",
          headers: { "content-type": contentType, "x-stint-csrf": csrf, accept: "application/json" },
        });
        assert.equal(response.status, 400, contentType);
        assert.match(await response.text(), /not a valid form/);
        const login = await m.request("/login", {
          auth: false,
          method: "POST",
          body: "garbage",
          headers: { "content-type": contentType },
        });
        assert.equal(login.status, 400, `/login with ${contentType}`);
        assert.equal(login.headers.get("set-cookie"), null);
        await login.body?.cancel();
      }
      assert.equal(await stint.queue("a").isPaused(), false);
    }));

  test("a queue name or key with a NUL byte in the path is a 400 and touches no other queue", () =>
    withStint(libsql, { scheduler: { dynamicTasks: true } }, async (stint) => {
      await stint.enqueue("t", null, { queue: "q" });
      const m = mount(stint);
      for (const action of ["pause", "clear"]) {
        const response = await m.post(`/queues/${encodeURIComponent("q\0evil")}/${action}`, {}, {
          accept: "application/json",
        });
        const body = await response.json();
        assert.equal(response.status, 400, `${action}: ${JSON.stringify(body)}`);
        assert.equal(body.ok, false);
        assert.match(body.message, /queue name .* is not a valid name/);
      }
      const long = await m.post(`/queues/${"x".repeat(201)}/pause`, {}, { accept: "application/json" });
      assert.equal(long.status, 400);
      await long.body?.cancel();
      assert.equal(await stint.queue("q").isPaused(), false, "pausing q\\0evil must not pause q");
      assert.equal(await stint.queue("q").size(), 1);
      const key = await m.post(`/recurring/${encodeURIComponent("k\0")}/unschedule`, {}, { accept: "application/json" });
      assert.equal(key.status, 400);
      await key.body?.cancel();
    }));

  test("a job id that names no job is a 404 on every action; unknown routes are a 404", () =>
    withStint(libsql, {}, async (stint) => {
      const m = mount(stint);
      for (const id of [crypto.randomUUID(), "not-a-uuid", encodeURIComponent("a\0b"), "%FF", "x".repeat(500)]) {
        for (const action of ["retry", "discard", "cancel", "enqueue-again"]) {
          const response = await m.post(`/jobs/${id}/${action}`, {}, { accept: "application/json" });
          const body = await response.json();
          assert.equal(response.status, 404, `${action} ${id.slice(0, 20)}: ${JSON.stringify(body)}`);
          assert.equal(body.ok, false);
        }
        const page = await m.get(`/jobs/${id}`);
        assert.equal(page.status, 404, id.slice(0, 20));
        await page.body?.cancel();
      }
      for (const path of ["/nope", "/jobs/x/y/z", "/queues/a", "/stats.json/x"]) {
        const response = await m.get(path);
        assert.equal(response.status, 404, path);
        await response.body?.cancel();
      }
      const post = await m.post("/nope", {}, { accept: "application/json" });
      assert.equal(post.status, 404);
      await post.body?.cancel();
    }));
});
