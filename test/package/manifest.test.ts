/**
 * The two manifests describe one package: deno.json (the Deno source, for JSR) and package.json
 * (the npm package built to dist/). They must not drift: same version, same entry points, the
 * same version ranges for the npm clients, and the npm entry points built from the files the
 * Deno exports name. (test/package/run.sh packs and installs the package itself.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isMissingPackage } from "../../drivers/connect.ts";

const root = new URL("../../", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));

test("deno.json and package.json carry the same version", () => {
  assert.match(pkg.version, /^\d+\.\d+\.\d+(-[\w.]+)?$/);
  assert.equal(deno.version, pkg.version, "bump both together");
});

test("the same entry points, each built from the source file deno.json exports", () => {
  assert.deepEqual(Object.keys(deno.exports).sort(), Object.keys(pkg.exports).filter((k) => k !== "./package.json").sort());
  for (const [key, source] of Object.entries<string>(deno.exports)) {
    const built = source.replace(/^\.\//, "./dist/").replace(/\.ts$/, "");
    assert.deepEqual(pkg.exports[key], { types: `${built}.d.ts`, import: `${built}.js` }, `package.json exports[${key}]`);
  }
  assert.deepEqual(pkg.bin, { stint: "dist/cli.js" });
  assert.ok(readFileSync(join(root, "cli.ts"), "utf8").startsWith("#!/usr/bin/env node\n"), "cli.ts starts with the bin's shebang");
});

test("the npm clients' version ranges agree", () => {
  const npm = { ...pkg.dependencies, ...pkg.peerDependencies };
  const mapped = Object.values<string>(deno.imports).filter((s) => s.startsWith("npm:"));
  assert.ok(mapped.length > 0);
  for (const specifier of mapped) {
    const [, name, range] = /^npm:(@?[^@/]+(?:\/[^@/]+)?)@([^/]+)/.exec(specifier) ?? [];
    assert.ok(name && range, specifier);
    if (name === "mysql2" && specifier.endsWith("/promise")) continue;
    assert.equal(npm[name], range, `${name}: package.json has ${npm[name]}, deno.json ${range}`);
  }
  for (const name of Object.keys(pkg.peerDependencies)) {
    assert.equal(pkg.peerDependenciesMeta?.[name]?.optional, true, `${name} is an optional peer`);
    assert.equal(pkg.devDependencies[name], pkg.peerDependencies[name], `${name} is installed for the repository's own tests`);
  }
});

test("the tarball holds the build only (package.json, README.md and dist/)", () => {
  assert.deepEqual(pkg.files, ["dist/**/*.js", "dist/**/*.d.ts"]);
  assert.equal(pkg.private, undefined, "not private: it is packed and published");
  assert.ok(existsSync(join(root, "tsconfig.build.json")));
});

test("a client missing at run time is told apart from other import failures, by this runtime's own error", async () => {
  const name = "stint-no-such-client-package";
  const error = await import(name).then(() => assert.fail("imported a package that does not exist"), (e: unknown) => e);
  assert.ok(isMissingPackage(error, name), `not recognised: ${String((error as Error)?.message ?? error)}`);
  assert.ok(!isMissingPackage(error, "postgres"), "another package's name does not match");
  assert.ok(!isMissingPackage(new Error(`connect ECONNREFUSED, '${name}'`), name), "a failure that is not a resolution");
});
