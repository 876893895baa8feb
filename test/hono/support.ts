/**
 * Helpers for the monitoring sub-app tests: a Hono app with stintApp mounted
 * at a prefix, requests that carry the bearer token (or not), the page's CSRF
 * token, HTML attribute extraction and a strict Prometheus text parser.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import type { Stint } from "../../mod.ts";
import { stintApp, type StintAppOptions } from "../../hono.ts";
import { type Target, targets } from "../support/targets.ts";

export const TOKEN = "s3cret-T0ken";
/** Markup and both quote kinds: must never reach a page unescaped. */
export const XSS = `<script>alert(1)</script>"'`;
export const XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;";

export const libsql: Target = targets.find((t) => t.name === "libsql")!;

export interface Mounted {
  /** "/stint", or "" at the root. */
  prefix: string;
  /** A request to prefix + path; `auth: false` sends no Authorization header. */
  request(path: string, init?: RequestInit & { auth?: boolean }): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** The page's HTML (asserting 200). */
  html(path: string): Promise<string>;
  /** A same-origin form POST with the page's CSRF token (unless `fields.csrf` is given). */
  post(path: string, fields?: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  csrf(): Promise<string>;
}

export function mount(stint: Stint, options: StintAppOptions = { token: TOKEN }, at = "/stint"): Mounted {
  const app = new Hono();
  app.route(at, stintApp(stint, options));
  const prefix = at === "/" ? "" : at;
  const request = (path: string, init: RequestInit & { auth?: boolean } = {}) => {
    const { auth = true, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (auth && !headers.has("authorization")) headers.set("authorization", `Bearer ${TOKEN}`);
    // The overview is "/stint" itself ("/stint/" is another route in Hono's strict mode).
    const full = prefix && (path === "/" || path.startsWith("/?")) ? prefix + path.slice(1) : prefix + path;
    return Promise.resolve(app.request(`http://localhost${full}`, { ...rest, headers }));
  };
  const get = (path: string, headers: Record<string, string> = {}) => request(path, { headers });
  let csrfToken: string | null = null;
  const csrf = async () => {
    if (csrfToken !== null) return csrfToken;
    const response = await get("/csrf");
    assert.equal(response.status, 200);
    csrfToken = ((await response.json()) as { csrf: string }).csrf;
    return csrfToken;
  };
  return {
    prefix,
    request,
    get,
    async html(path) {
      const response = await get(path, { accept: "text/html" });
      const body = await response.text();
      assert.equal(response.status, 200, `GET ${prefix}${path}: ${body.slice(0, 300)}`);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      return body;
    },
    async post(path, fields = {}, headers = {}) {
      const form = new URLSearchParams({ csrf: await csrf(), ...fields });
      return request(path, {
        method: "POST",
        body: form,
        headers: { host: "localhost", origin: "http://localhost", ...headers },
        redirect: "manual",
      });
    },
    csrf,
  };
}

/** A POST that asks for JSON; returns the status and the parsed answer. */
export async function postJson(
  m: Mounted,
  path: string,
): Promise<{ status: number; body: { ok: boolean; message: string } }> {
  const response = await m.post(path, {}, { accept: "application/json" });
  return { status: response.status, body: await response.json() };
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };
export const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ENTITIES[e]);

/** Every value of `attr` in the page (href, action, onsubmit …), HTML-unescaped. */
export function attributes(html: string, attr: string): string[] {
  return [...html.matchAll(new RegExp(`\\s${attr}="([^"]*)"`, "g"))].map((m) => unescapeHtml(m[1]));
}

/** The forms of a page as { action, button label }. */
export function forms(html: string): Array<{ action: string; label: string; onsubmit: string | null }> {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((m) => ({
    action: unescapeHtml(/\saction="([^"]*)"/.exec(m[1])?.[1] ?? ""),
    onsubmit: /\sonsubmit="([^"]*)"/.exec(m[1]) ? unescapeHtml(/\sonsubmit="([^"]*)"/.exec(m[1])![1]) : null,
    label: unescapeHtml(/<button[^>]*>([\s\S]*?)<\/button>/.exec(m[2])?.[1] ?? ""),
  }));
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses Prometheus text exposition strictly: every line is `# HELP name text`,
 * `# TYPE name type`, or `name{k="v",...} value`; a sample needs a TYPE line of
 * its name before it; values are numbers. Throws on anything else.
 */
export function parsePrometheus(
  text: string,
): { samples: Sample[]; types: Map<string, string>; help: Map<string, string> } {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  for (const [i, line] of text.slice(0, -1).split("\n").entries()) {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    let m = new RegExp(`^# HELP (${NAME}) (.+)$`).exec(line);
    if (m) {
      help.set(m[1], m[2]);
      continue;
    }
    m = new RegExp(`^# TYPE (${NAME}) (gauge|counter|histogram|summary|untyped)$`).exec(line);
    if (m) {
      assert.ok(!types.has(m[1]), `${where}: a second TYPE line for ${m[1]}`);
      types.set(m[1], m[2]);
      continue;
    }
    m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    assert.ok(m, `${where}: neither a comment nor a sample`);
    const [, name, rawLabels = "", rawValue] = m;
    assert.ok(types.has(name), `${where}: sample before the TYPE line of ${name}`);
    assert.match(rawValue, /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i, `${where}: value is not a number`);
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/y;
    while (labelRe.lastIndex < rawLabels.length) {
      const l = labelRe.exec(rawLabels);
      assert.ok(l, `${where}: malformed labels at ${labelRe.lastIndex}`);
      assert.ok(!(l[1] in labels), `${where}: label ${l[1]} twice`);
      labels[l[1]] = l[2].replace(/\\(\\|"|n)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    samples.push({ name, labels, value: Number(rawValue) });
  }
  return { samples, types, help };
}

/** The one sample of `name` whose labels include `labels`; fails when there is not exactly one. */
export function sample(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0].value;
}
