/**
 * The README's quick starts, run as written from this checkout: the `// file.ts` blocks of both
 * quick starts are copied into a scratch project beside a `stint` link to this checkout, mapped
 * there as a user of a checkout would (Deno: deno.json imports; Bun: tsconfig.json paths), and
 * run as child processes under Deno (`deno run -A main.ts`), Bun (`bun main.ts`) and Node
 * (`node main.ts`). Node reads neither file: under Node, the scratch project's node_modules holds
 * instead a `stint` package whose entry points re-export this checkout's mod.ts and hono.ts.
 * The README's Install section, the npm package built to dist/, is test/package/run.sh's: it
 * installs the packed tarball in a scratch project on each runtime and runs these files there.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { startChild } from "../support/child.ts";
import { ASYNC_QUICK_START, readme, sectionFiles, WORKER_QUICK_START } from "../support/readme.ts";

const root = new URL("../../", import.meta.url).pathname;
const text = readme();
const asyncFiles = sectionFiles(text, ASYNC_QUICK_START);
const workerFiles = sectionFiles(text, WORKER_QUICK_START);
const isDeno = "Deno" in globalThis;
const runtimeName = isDeno ? "Deno" : "Bun" in globalThis ? "Bun" : "Node";

/** scratch/stint → this checkout; scratch/app holds the files, with "stint" mapped to ../stint. */
function scratchProject(files: Map<string, string>): { dir: string; app: string } {
  const dir = mkdtempSync(join(tmpdir(), "stint-readme-"));
  const app = join(dir, "app");
  mkdirSync(app);
  symlinkSync(realpathSync(root), join(dir, "stint"));
  for (const [name, code] of files) writeFileSync(join(app, name), code);
  // Deno: the checkout's own npm mappings, and its node_modules (nodeModulesDir "manual") so
  // that the clients come from there instead of being downloaded.
  const { imports } = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const stint = { stint: "../stint/mod.ts", "stint/hono": "../stint/hono.ts" };
  writeFileSync(join(app, "deno.json"), JSON.stringify({ imports: { ...imports, ...stint }, nodeModulesDir: "manual" }));
  const paths = { stint: ["../stint/mod.ts"], "stint/hono": ["../stint/hono.ts"] };
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { paths } }));
  if (runtimeName === "Node") nodeStintPackage(join(app, "node_modules", "stint"));
  else symlinkSync(realpathSync(join(root, "node_modules")), join(app, "node_modules"));
  return { dir, app };
}

/** A `stint` package re-exporting this checkout (files under node_modules are not type-stripped, so .js shims). */
function nodeStintPackage(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const exports = { ".": "./mod.js", "./hono": "./hono.js" };
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "stint", type: "module", exports }));
  for (const name of ["mod", "hono"]) {
    const source = pathToFileURL(join(realpathSync(root), `${name}.ts`)).href;
    writeFileSync(join(dir, `${name}.js`), `export * from ${JSON.stringify(source)};\n`);
  }
}

/** The README's command for a file, for the runtime under test. */
const command = (file: string) => (isDeno ? ["run", "-A", file] : [file]);

const start = startChild;

describe("the README", () => {
  test("has both quick starts' files, each naming how to run it", () => {
    assert.deepEqual([...asyncFiles.keys()].sort(), ["main.ts", "tasks.ts"]);
    assert.deepEqual([...workerFiles.keys()].sort(), ["enqueue.ts", "worker.ts"]);
    for (const [name, code] of [...asyncFiles, ...workerFiles]) {
      if (name === "tasks.ts") continue;
      const file = name.replace(".", "\\.");
      assert.match(code, new RegExp(`deno run -A ${file} \\(Bun: bun ${file}; Node: node ${file}\\)`));
    }
    assert.match(asyncFiles.get("main.ts")!, /stint\.waitFor\(/);
    assert.match(workerFiles.get("worker.ts")!, /standalone: true/);
  });

  test(`async quick start runs as written under ${runtimeName}, prints succeeded and exits`, { timeout: 90_000 }, async () => {
    const { dir, app } = scratchProject(asyncFiles);
    try {
      const { code, signal, out } = await start(app, command("main.ts")).exited;
      assert.equal(signal, null, `killed: it did not exit by itself\n${out}`);
      assert.equal(code, 0, out);
      assert.match(out, /^succeeded 3$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`worker quick start: the worker runs what enqueue.ts sends, and SIGINT stops it`, { timeout: 120_000 }, async () => {
    const { dir, app } = scratchProject(new Map([...asyncFiles, ...workerFiles]));
    try {
      let ready!: () => void;
      const running = new Promise<void>((resolve) => (ready = resolve));
      const worker = start(app, command("worker.ts"), (line) => line.startsWith("worker running") && ready());
      const failedEarly = worker.exited.then(({ out }) => assert.fail(`the worker exited before it ran\n${out}`));
      await Promise.race([running, failedEarly]);
      const sent = await start(app, command("enqueue.ts")).exited;
      assert.equal(sent.code, 0, sent.out);
      assert.match(sent.out, /^succeeded$/m);
      // By pid: Deno's child.kill() reports a child that handled the signal and exited 0 as killed by it.
      process.kill(worker.child.pid!, "SIGINT");
      const stopped = await worker.exited;
      assert.equal(stopped.signal, null, `the worker did not stop by itself\n${stopped.out}`);
      assert.equal(stopped.code, 0, stopped.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
