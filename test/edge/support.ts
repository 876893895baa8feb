/**
 * Child processes for test/edge: the Bun worker, the bundler, workerd and the
 * Deno client, each from node_modules/.bin (a missing binary fails the test,
 * naming it), each killed on the way out.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import process from "node:process";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

/** A binary of node_modules/.bin; throws (failing the test) when it is not installed. */
export function bin(name: "bun" | "deno" | "workerd"): string {
  const path = join(ROOT, "node_modules/.bin", name);
  if (!existsSync(path)) throw new Error(`${path} is missing: the edge tests need ${name} (npm ci installs it)`);
  return path;
}

export interface Proc {
  readonly child: ChildProcess;
  /** stdout and stderr so far, for messages. */
  output(): string;
  stdout(): string;
  /** Resolves with the exit code (null when killed) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Resolves once stdout has a line matching `pattern`; rejects if the process exits or `timeoutMs` passes first. */
  line(pattern: RegExp, timeoutMs: number): Promise<string>;
  kill(): Promise<void>;
  /** Closes its stdin (the Bun worker's cue to stop), then kills it if it has not exited within `graceMs`. */
  stop(graceMs: number): Promise<number | null>;
}

export function start(command: string, args: string[], options: { cwd?: string; stdin?: boolean } = {}): Proc {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  let out = "";
  let all = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    all += chunk;
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (all += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.on("error", (error) => {
      all += `\n${error.message}`;
      resolve(-1);
    });
    child.on("exit", (code) => resolve(code));
  });
  let done = false;
  exited.then(() => (done = true));
  const describe = () => `${command.split("/").pop()} ${args.join(" ")}`;
  return {
    child,
    output: () => all,
    stdout: () => out,
    exited,
    async line(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = out.split("\n").find((l) => pattern.test(l));
        if (found !== undefined) return found;
        if (done) throw new Error(`${describe()} exited (${await exited}) before printing ${pattern}:\n${all}`);
        if (Date.now() > deadline) throw new Error(`${describe()} printed no ${pattern} within ${timeoutMs} ms:\n${all}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async kill() {
      if (!done) child.kill("SIGKILL");
      await exited;
    },
    async stop(graceMs) {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a command to its end; throws with its output when it fails. */
export async function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  const proc = start(command, args);
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${command.split("/").pop()} ${args.join(" ")} exited ${code}:\n${proc.output()}`);
  return proc.stdout();
}

/**
 * Bundles a Worker for workerd into `outdir`: the "workerd" export condition
 * picks postgres.js's build over cloudflare:sockets (and @libsql/client's web
 * one); node: and cloudflare: modules stay imports, for workerd to provide.
 * mysql2 cannot be bundled for a browser target (it require()s tls, net, zlib…),
 * so it stays an import too, and `--splitting` keeps each driver in a chunk of
 * its own: the MySQL one, never imported here, is never linked (workerd links
 * modules when they are imported). Returns the bundle's file names, the entry's
 * first.
 */
export async function bundleWorker(entry: string, outdir: string): Promise<string[]> {
  await run(bin("bun"), [
    "build",
    entry,
    "--target=browser",
    "--conditions=workerd",
    "--format=esm",
    "--splitting",
    "--external=node:*",
    "--external=mysql2",
    "--external=mysql2/*",
    "--external=cloudflare:*",
    `--outdir=${outdir}`,
  ], 60_000);
  const main = `${basename(entry, ".ts")}.js`;
  const files = readdirSync(outdir).filter((f) => f.endsWith(".js"));
  if (!files.includes(main)) throw new Error(`bun build wrote no ${main} in ${outdir}: ${files.join(", ")}`);
  return [main, ...files.filter((f) => f !== main).sort()];
}

/**
 * The README's Worker ("Enqueue from the edge", the block headed `// worker.ts`),
 * as written, in `dir` with a tsconfig.json that maps `stint/client` to this
 * checkout's client.ts (what an installed package's exports would do).
 */
export function readmeWorker(dir: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Enqueue from the edge\n");
  if (start < 0) throw new Error('README.md has no "## Enqueue from the edge" section');
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const code = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).find((c) => c.startsWith("// worker.ts"));
  if (code === undefined) throw new Error("the README's edge section has no ```ts block headed // worker.ts");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "worker.ts"), code);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { paths: { "stint/client": [join(ROOT, "client.ts")] } } }),
  );
  return join(dir, "worker.ts");
}

export interface WorkerdService {
  /** Also the socket's name, in workerd's "listen" control message. */
  name: string;
  /** The bundle's directory, relative to the config's, and its files (the entry first). */
  dir: string;
  modules: string[];
  bindings: Record<string, string>;
  /** Without nodejs_compat: no node: module at all (default: with). */
  bare?: boolean;
}

/**
 * A workerd config serving each Worker on a socket of its own (port 0: workerd
 * reports the port on its control fd): nodejs_compat unless `bare` (postgres.js
 * imports node:buffer, node:stream and node:events), text bindings, and an "internet"
 * network that may reach private addresses (workerd's default allows public
 * ones only; the test's PostgreSQL is on 127.0.0.1).
 */
export function writeWorkerdConfig(dir: string, services: WorkerdService[]): string {
  const path = join(dir, "config.capnp");
  const q = JSON.stringify;
  const workers = services.map((w) =>
    `const ${w.name} :Workerd.Worker = (
  modules = [${w.modules.map((m) => `(name = ${q(m)}, esModule = embed ${q(`${w.dir}/${m}`)})`).join(", ")}],
  compatibilityDate = "2026-04-01",
  compatibilityFlags = [${w.bare ? "" : '"nodejs_compat"'}],
  bindings = [${Object.entries(w.bindings).map(([k, v]) => `(name = ${q(k)}, text = ${q(v)})`).join(", ")}],
);`
  );
  writeFileSync(
    path,
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    ${services.map((w) => `(name = ${q(w.name)}, worker = .${w.name}),`).join("\n    ")}
    (name = "internet", network = (allow = ["public", "private"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [${services.map((w) => `(name = ${q(w.name)}, address = "127.0.0.1:0", http = (), service = ${q(w.name)})`).join(", ")}],
);

${workers.join("\n\n")}
`,
  );
  return path;
}
