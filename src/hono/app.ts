/**
 * `stintApp(stint, { token, readOnly })`: a Hono sub-app with the dashboard,
 * stats.json, Prometheus /metrics and POST actions. Mount it anywhere:
 * `app.route("/stint", stintApp(stint, { token }))`.
 *
 * Auth: with a token, every route but /login needs `Authorization: Bearer
 * <token>` (or the HttpOnly cookie /login sets for browsers); 401 carries
 * `WWW-Authenticate: Bearer`. POST actions also need the page's CSRF token and,
 * when the browser sends one, an Origin matching the host.
 */
import { type Context, Hono } from "hono";
import type { JobStatus } from "../records.ts";
import type { JobResult } from "../result.ts";
import { BadRequestError, ConfigError, StintError } from "../errors.ts";
import { describe, JOB_STATUSES, MAX_NAME_LENGTH } from "../validate.ts";
import { hasUnstorable } from "../json.ts";
import { isJobId } from "../ids.ts";
import type { Stint } from "../stint.ts";
import { bearer, cookieValue, randomToken, tokensEqual } from "./auth.ts";
import { esc, layout, type PageContext } from "./html.ts";
import { renderMetrics } from "./metrics.ts";
import { jobPage, jobsPage, overviewPage } from "./pages.ts";

export interface StintAppOptions {
  token?: string;
  readOnly?: boolean;
}

const OPTION_KEYS = ["token", "readOnly"];
/** Shorter than this, a token is guessed in a few thousand requests; a random one is 32+ characters. */
const MIN_TOKEN_LENGTH = 8;
const COOKIE = "stint_token";
/** A job page lists at most this many of the job's children (the newest). */
const CHILDREN_SHOWN = 100;

/**
 * A queue name, task key or filter from the request, refused (400) when no stored name can equal it
 * (a NUL or a lone surrogate, which no database stores intact, among them).
 */
function nameFrom(value: string, what: string): string {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH || hasUnstorable(value)) {
    throw new BadRequestError(`${what} ${JSON.stringify(value.slice(0, 60))} is not a valid name`);
  }
  return value;
}

// Hono has already decoded the parameter once; decoding again would turn a literal "a%2Fb" into "a/b".
const rawParam = (c: Context, name: string): string => c.req.param(name) ?? "";
const param = (c: Context, name: string, what: string): string => nameFrom(rawParam(c, name), what);

/** The form body; a body that claims to be a form and is not one is a 400, not a 500. */
async function formBody(c: Context): Promise<Record<string, unknown>> {
  try {
    return await c.req.parseBody();
  } catch {
    throw new BadRequestError("the request body is not a valid form");
  }
}

/** Refuses what would silently serve an open or misconfigured dashboard (`tokn: "…"`, `token: ""`). */
function checkOptions(stint: Stint, options: unknown): StintAppOptions {
  if (stint === null || typeof stint !== "object" || typeof (stint as Stint).stats !== "function") {
    throw new ConfigError("stintApp: the first argument must be a Stint instance (from createStint)");
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ConfigError(`stintApp: options must be an object like { token, readOnly }, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new ConfigError(`stintApp: unknown option ${JSON.stringify(key)} (known: ${OPTION_KEYS.join(", ")})`);
    }
  }
  const token = o.token;
  if (token !== undefined) {
    if (typeof token !== "string") throw new ConfigError(`stintApp: token must be a string, got ${typeof token}`);
    if (token.trim() !== token || token.length < MIN_TOKEN_LENGTH) {
      // Never echo the token itself: the message may end up in a log.
      throw new ConfigError(
        `stintApp: token must be at least ${MIN_TOKEN_LENGTH} characters without surrounding spaces ` +
          `(got ${token.length} characters${token.length > 0 && token.trim() !== token ? " with surrounding spaces" : ""})`,
      );
    }
  }
  if (o.readOnly !== undefined && typeof o.readOnly !== "boolean") {
    throw new ConfigError(`stintApp: readOnly must be true or false, got ${describe(o.readOnly)}`);
  }
  return o as StintAppOptions;
}

/** The host of an Origin or Referer header, or null when it is not a URL ("null", garbage). */
function hostOf(value: string): string | null {
  try {
    return new URL(value).host;
  } catch {
    return null;
  }
}

/** The mount prefix: the matched route pattern minus the pattern this app registered. */
function baseOf(c: Context, pattern: string): string {
  const route = c.req.routePath;
  const trimmed = pattern === "/" ? route.replace(/\/$/, "") : route.slice(0, route.length - pattern.length);
  return trimmed.replace(/\/$/, "");
}

export function stintApp(stint: Stint, options: StintAppOptions = {}): Hono {
  const { token, readOnly = false } = checkOptions(stint, options);
  const csrf = randomToken();
  const app = new Hono();
  const page = (c: Context, pattern: string): PageContext => ({ base: baseOf(c, pattern), csrf, readOnly, backend: stint.backend });

  const authorized = async (c: Context) => {
    if (token === undefined) return true;
    const given = bearer(c.req.header("authorization")) ?? cookieValue(c.req.header("cookie"), COOKIE);
    return given !== null && await tokensEqual(given, token);
  };

  app.get("/login", (c) => c.html(loginPage(page(c, "/login"))));
  app.post("/login", async (c) => {
    const body = await formBody(c);
    const given = typeof body.token === "string" ? body.token : "";
    const base = baseOf(c, "/login");
    if (token === undefined || !(await tokensEqual(given, token))) {
      return c.html(loginPage(page(c, "/login"), "That token is not right."), 401, { "WWW-Authenticate": "Bearer" });
    }
    c.header("Set-Cookie", `${COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=${base || "/"}`);
    return c.redirect(base === "" ? "/" : base, 303);
  });

  app.use("*", async (c, next) => {
    if (c.req.path.endsWith("/login")) return next();
    if (!(await authorized(c))) {
      const wantsHtml = (c.req.header("accept") ?? "").includes("text/html");
      return wantsHtml
        ? c.html(loginPage(page(c, "/*")), 401, { "WWW-Authenticate": "Bearer" })
        : c.text("unauthorized\n", 401, { "WWW-Authenticate": "Bearer" });
    }
    if (c.req.method === "POST") {
      if (readOnly) return c.text("this dashboard is read-only\n", 403);
      const origin = c.req.header("origin");
      const host = c.req.header("host") ?? new URL(c.req.url).host;
      if (origin !== undefined && hostOf(origin) !== host) return c.text("cross-origin request refused\n", 403);
      const body = await formBody(c);
      const given = typeof body.csrf === "string" ? body.csrf : c.req.header("x-stint-csrf") ?? "";
      if (!(await tokensEqual(given, csrf))) return c.text("missing or wrong CSRF token\n", 403);
    }
    return next();
  });

  app.get("/", async (c) => c.html(overviewPage(page(c, "/"), await stint.stats(), c.req.query("flash"))));
  app.get("/stats.json", async (c) => c.json(await stint.stats()));
  app.get("/metrics", async (c) =>
    c.text(renderMetrics(await stint.stats()), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/csrf", (c) => c.json({ csrf }));

  app.get("/jobs", async (c) => {
    const status = (c.req.query("status") ?? "failed") as JobStatus;
    if (!JOB_STATUSES.has(status)) return c.text(`unknown status ${JSON.stringify(status)}\n`, 400);
    const queueFilter = c.req.query("queue");
    const queue = queueFilter ? nameFrom(queueFilter, "queue") : undefined;
    const before = c.req.query("before") || undefined;
    if (before !== undefined && !isJobId(before)) return c.text("before must be a job id\n", 400);
    const jobs = await stint.listJobs(status, { queue, before, limit: 50 });
    return c.html(jobsPage(page(c, "/jobs"), status, queue, jobs, c.req.query("flash")));
  });
  app.get("/jobs/:id", async (c) => {
    let job: JobResult;
    try {
      job = await stint.getResult(c.req.param("id"));
    } catch (error) {
      if (error instanceof StintError && error.code === "JOB_NOT_FOUND") return c.text("no such job\n", 404);
      throw error;
    }
    const [steps, children] = await Promise.all([
      stint.driver.stepList({ backend: stint.backend, jobId: job.id }),
      stint.jobs({ parentId: job.id, limit: CHILDREN_SHOWN }),
    ]);
    const related = { steps, children, childLimit: CHILDREN_SHOWN };
    return c.html(jobPage(page(c, "/jobs/:id"), job, related, c.req.query("flash")));
  });

  const act = (pattern: string, run: (c: Context) => Promise<string>) =>
    app.post(pattern, async (c) => {
      let message: string;
      let ok = true;
      let status: 200 | 400 | 404 | 409 = 200;
      try {
        message = await run(c);
      } catch (error) {
        ok = false;
        message = error instanceof StintError ? error.message : `failed: ${(error as Error).message}`;
        // A value the call refused (a bad name) is the request's fault; an id that names no job is a 404.
        status = error instanceof ConfigError || error instanceof BadRequestError
          ? 400
          : error instanceof StintError && error.code === "JOB_NOT_FOUND"
          ? 404
          : 409;
      }
      if ((c.req.header("accept") ?? "").includes("application/json")) return c.json({ ok, message }, status);
      const back = c.req.header("referer");
      const base = baseOf(c, pattern);
      const host = c.req.header("host") ?? new URL(c.req.url).host;
      const target = back && hostOf(back) === host ? new URL(back) : new URL(base === "" ? "/" : base, "http://x");
      target.searchParams.set("flash", message);
      return c.redirect(`${target.pathname}${target.search}`, 303);
    });

  const queueName = (c: Context) => param(c, "name", "queue name");
  act("/queues/:name/pause", async (c) => (await stint.queue(queueName(c)).pause(), `paused ${queueName(c)}`));
  act("/queues/:name/resume", async (c) => (await stint.queue(queueName(c)).resume(), `resumed ${queueName(c)}`));
  act("/queues/:name/clear", async (c) => `cleared ${await stint.queue(queueName(c)).clear()} ready jobs`);
  act("/jobs/:id/retry", async (c) => (await stint.retryJob(rawParam(c, "id")), "job retried"));
  act("/jobs/:id/discard", async (c) => (await stint.discardJob(rawParam(c, "id")), "job discarded"));
  act("/jobs/:id/cancel", async (c) => `cancel: job is ${(await stint.cancel(rawParam(c, "id"))).status}`);
  act("/jobs/:id/enqueue-again", async (c) => `enqueued again as ${(await stint.enqueueAgain(rawParam(c, "id"))).id}`);
  act("/failed/retry", async () => `retried ${await stint.retryAll()} failed jobs`);
  act("/failed/discard", async () => `discarded ${await stint.discardAll()} failed jobs`);
  act("/recurring/:key/unschedule", async (c) => {
    const s = stint as unknown as { unschedule?: (key: string) => Promise<number> };
    if (!s.unschedule) throw new StintError("NOT_SUPPORTED", "recurring tasks are not available in this build");
    return `removed ${await s.unschedule(param(c, "key", "recurring task key"))} recurring task(s)`;
  });
  // Malformed input is answered here; anything else goes on to the host app's own error handler.
  app.onError((error, c) => {
    if (error instanceof BadRequestError) return c.text(`${error.message}\n`, 400);
    throw error;
  });
  return app;
}

function loginPage(ctx: PageContext, error?: string): string {
  return layout(
    ctx,
    "Sign in",
    `<form method="post" action="${esc(ctx.base)}/login"><label>Token <input type="password" name="token" autofocus></label>
<button type="submit">Sign in</button></form>`,
    error,
  );
}
