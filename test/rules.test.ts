/**
 * The layout's rules, checked on the tree itself (walked, so moved or new files are covered):
 *
 * - src/ knows no runtime: no `Deno.`, `Bun.`, `process.`, no Node built-in module (runtime
 *   specifics live in adapters/);
 * - SQL lives in drivers/ only: none in src/ or adapters/;
 * - no source file outside test/ is longer than 400 lines;
 * - src/ imports nothing outside src/ (mod.ts binds the drivers and adapters to it);
 * - no import cycle among the modules of src/ and drivers/ (type imports count too);
 * - the edge client (client.ts) reaches, by static imports (type imports too), no Worker, no
 *   runtime global, no Node built-in module, nothing of src/runtime/ and no npm package: its
 *   driver and database client load lazily, by the URL's scheme.
 *
 * Files are read as text and lexed just enough to tell code, strings and comments apart, so
 * that a comment saying "Deno." or prose mentioning a SELECT is no violation. SQL is found in
 * string literals (and template text): by its capitalised keywords (this codebase writes SQL in
 * capitals), and in any case by a statement's shape (`insert into t (`, `update t set a =`,
 * `delete from t where`, `select … from t where|join|order|group|limit`), which prose does not
 * have. Not found: SQL assembled from several literals (`"SELECT a " + "FROM t"`).
 * The last describe block shows that every detector can fail.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MAX_LINES = 400;
const SOURCE = /\.(ts|tsx|js|mjs)$/;

interface Import {
  specifier: string;
  dynamic: boolean;
}

interface Scanned {
  /** The code with comments removed and every string literal emptied. */
  code: string;
  /** The text of every string literal; a template's `${…}` parts read as "${}". */
  strings: string[];
  imports: Import[];
}

/** Splits source text into code, string literals and import specifiers; comments are dropped. */
function scan(text: string): Scanned {
  const out: Scanned = { code: "", strings: [], imports: [] };
  let i = 0;

  const literal = (value: string) => {
    if (/\b(?:import|require)\s*\(\s*$/.test(out.code)) out.imports.push({ specifier: value, dynamic: true });
    else if (/(?:^|[^\w$.])(?:from|import)\s*$/.test(out.code)) out.imports.push({ specifier: value, dynamic: false });
    out.strings.push(value);
    out.code += '""';
  };
  const quoted = (quote: string): string => {
    let value = "";
    for (i++; i < text.length && text[i] !== quote && text[i] !== "\n"; i++) {
      if (text[i] === "\\") i++;
      value += text[i];
    }
    i++;
    return value;
  };
  const template = (): string => {
    let value = "";
    for (i++; i < text.length;) {
      const c = text[i];
      if (c === "\\") {
        value += text.slice(i, i + 2);
        i += 2;
      } else if (c === "`") {
        i++;
        return value;
      } else if (c === "$" && text[i + 1] === "{") {
        i += 2;
        value += "${}";
        code(true);
      } else {
        value += c;
        i++;
      }
    }
    return value;
  };
  // A "/" starts a regular expression where an expression may begin, and divides after one.
  const regexAllowed = () => {
    const before = out.code.trimEnd();
    return before === "" || /[(,=:[!&|?{};+\-*%<>~^]$/.test(before) ||
      /(?:^|[^\w$.])(?:return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/.test(before);
  };
  const regex = () => {
    let inClass = false;
    for (i++; i < text.length && text[i] !== "\n"; i++) {
      const c = text[i];
      if (c === "\\") i++;
      else if (inClass) inClass = c !== "]";
      else if (c === "[") inClass = true;
      else if (c === "/") break;
    }
    i++;
    while (i < text.length && /[a-z]/i.test(text[i])) i++;
    out.code += "/regex/";
  };
  /** Code up to the end, or (inside a template's `${`) up to its closing brace. */
  function code(untilBrace: boolean): void {
    let depth = 0;
    while (i < text.length) {
      const c = text[i];
      const next = text[i + 1];
      if (c === "/" && next === "/") {
        const end = text.indexOf("\n", i);
        i = end === -1 ? text.length : end;
      } else if (c === "/" && next === "*") {
        const end = text.indexOf("*/", i + 2);
        i = end === -1 ? text.length : end + 2;
        out.code += " ";
      } else if (c === '"' || c === "'") {
        literal(quoted(c));
      } else if (c === "`") {
        literal(template());
      } else if (c === "/" && regexAllowed()) {
        regex();
      } else {
        if (c === "{") depth++;
        if (c === "}" && depth-- === 0 && untilBrace) {
          i++;
          return;
        }
        out.code += c;
        i++;
      }
    }
  }
  code(false);
  return out;
}

/**
 * `Deno` or `Bun` anywhere in code (`Deno.pid`, `typeof Deno`, `const B = Bun`), `process.x`,
 * and a global reached through the global object (`globalThis.process`); a property that is
 * merely named `process` (`worker.process`) is not one.
 */
const RUNTIME_GLOBAL =
  /(?<![\w$])(?:Deno|Bun)(?![\w$])|(?<![\w$.])process\s*\??\.|\b(?:globalThis|self|window)(?:\s+as\s+\w+)?\s*\)?\s*\??\.\s*process\b/;
const NODE_BUILTINS = new Set(builtinModules);

/** What in `text` reaches for a runtime: its globals or a Node built-in module. */
function runtimeProblems(text: string): string[] {
  const { code, strings, imports } = scan(text);
  const problems: string[] = [];
  const global = RUNTIME_GLOBAL.exec(code);
  if (global) problems.push(`touches a runtime global: ${global[0].trim()}`);
  for (const name of strings) {
    if (name === "Deno" || name === "Bun" || name === "process") problems.push(`looks a runtime up by name: ${JSON.stringify(name)}`);
  }
  for (const { specifier } of imports) {
    if (specifier.startsWith("node:") || NODE_BUILTINS.has(specifier)) problems.push(`imports ${specifier}`);
  }
  return problems;
}

const SQL = [
  /\bSELECT\b[\s\S]*?\bFROM\b/,
  /\bINSERT\s+INTO\b/,
  /\bUPDATE\s+[\w."`$]+\s+SET\b/,
  /\bDELETE\s+FROM\b/,
  /\bCREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\b/,
  /\bSELECT\s+[\w$]+\s*\(/,
  /\b(?:ALTER|DROP|TRUNCATE)\s+TABLE\b/i,
  /\bREPLACE\s+INTO\b/,
  /\binsert\s+into\s+[\w."`$]+\s*\(/i,
  /\bupdate\s+[\w."`$]+\s+set\s+[\w"`]+\s*=/i,
  /\bdelete\s+from\s+[\w."`$]+\s+where\b/i,
  /\bselect\s+[\s\S]+?\s+from\s+[\w."`$]+\s+(?:where|join|order\s+by|group\s+by|limit)\b/i,
];

/** The string literals in `text` that hold SQL. */
function sqlProblems(text: string): string[] {
  return scan(text).strings.filter((s) => SQL.some((pattern) => pattern.test(s)))
    .map((s) => `holds SQL: ${JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s)}`);
}

/** How many lines `text` has when it has more than MAX_LINES, else null. */
function tooLong(text: string): number | null {
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  return lines > MAX_LINES ? lines : null;
}

/** The relative imports of a src/ file (by path from the root) that leave src/. */
function importsOutsideSrc(path: string, text: string): string[] {
  return scan(text).imports
    .filter((i) => i.specifier.startsWith(".") && !resolve(ROOT, dirname(path), i.specifier).startsWith(join(ROOT, "src/")))
    .map((i) => `${i.dynamic ? "dynamically " : ""}imports ${i.specifier}`);
}

/** Every source file under `dir` (the root's own files for ""), test files and node_modules left out. */
async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (path: string, deep: boolean) => {
    for (const entry of await readdir(join(ROOT, path), { withFileTypes: true })) {
      const child = path === "" ? entry.name : `${path}/${entry.name}`;
      if (entry.isDirectory()) {
        if (deep && entry.name !== "node_modules" && !entry.name.startsWith(".")) await walk(child, deep);
      } else if (SOURCE.test(entry.name) && !/\.test\.\w+$/.test(entry.name)) {
        files.push(child);
      }
    }
  };
  await walk(dir, dir !== "");
  return files.sort();
}

const read = (path: string) => readFile(join(ROOT, path), "utf8");

/** The module graph over `files` (static imports, type imports included), by path from the root. */
function importGraph(sources: Map<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [path, text] of sources) {
    const targets = scan(text).imports
      .filter((i) => !i.dynamic && i.specifier.startsWith("."))
      .map((i) => relative(ROOT, resolve(ROOT, dirname(path), i.specifier)).split("\\").join("/"))
      .filter((target) => sources.has(target));
    graph.set(path, [...new Set(targets)]);
  }
  return graph;
}

/** Every import cycle (a strongly connected set of more than one module, or a module importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** A relative specifier from `path`, as a path from the root. */
function resolved(path: string, specifier: string): string {
  return relative(ROOT, resolve(ROOT, dirname(path), specifier)).split("\\").join("/");
}

/**
 * The modules `entry` reaches by static imports (type imports included: a bundler or a
 * type-checker follows them too), each with what an edge runtime may lack. Dynamic imports
 * are not followed: they load only when called (drivers/connect.ts loads the URL's driver).
 */
function edgeProblems(entry: string, sources: Map<string, string>): { reached: string[]; problems: Array<[string, string[]]> } {
  const reached: string[] = [];
  const problems: Array<[string, string[]]> = [];
  const pending = [entry];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (reached.includes(path)) continue;
    reached.push(path);
    const text = sources.get(path);
    if (text === undefined) {
      problems.push([path, ["is not in the tree"]]);
      continue;
    }
    const { code, imports } = scan(text);
    const found = runtimeProblems(text);
    if (/(?<![\w$.])Worker\b/.test(code)) found.push("uses Worker");
    if (path.startsWith("src/runtime/")) found.push("is the runtime (src/runtime/)");
    for (const { specifier, dynamic } of imports) {
      if (dynamic) continue;
      if (specifier.startsWith(".")) pending.push(resolved(path, specifier));
      else if (!specifier.startsWith("node:") && !NODE_BUILTINS.has(specifier)) {
        found.push(`imports the package ${specifier} (a database client loads with its driver, lazily)`);
      }
    }
    problems.push([path, found]);
  }
  return { reached: reached.sort(), problems };
}

/** Fails with every problem found, one line each, by file. */
function assertNone(problems: Array<[string, string[]]>): void {
  const lines = problems.flatMap(([path, list]) => list.map((p) => `${path}: ${p}`));
  assert.deepEqual(lines, [], `\n${lines.join("\n")}`);
}

async function readAll(dirs: string[]): Promise<Map<string, string>> {
  const sources = new Map<string, string>();
  for (const dir of dirs) for (const path of await sourceFiles(dir)) sources.set(path, await read(path));
  return sources;
}

describe("the layout's rules", () => {
  test("src/ touches no runtime: no Deno., Bun., process. and no Node built-in module", async () => {
    const sources = await readAll(["src"]);
    assert.ok(sources.size > 20, "src/ was found");
    assertNone([...sources].map(([path, text]) => [path, runtimeProblems(text)]));
    // The detector still knows a runtime when it sees one: adapters/ is made of them.
    const adapters = await readAll(["adapters"]);
    assert.ok([...adapters.values()].some((text) => runtimeProblems(text).length > 0), "adapters/ reach for their runtime");
  });

  test("SQL is only in drivers/: none in src/ or adapters/", async () => {
    const sources = await readAll(["src", "adapters"]);
    assertNone([...sources].map(([path, text]) => [path, sqlProblems(text)]));
    // The detector still knows this codebase's SQL when it sees it.
    const drivers = await readAll(["drivers"]);
    assert.ok([...drivers.values()].filter((text) => sqlProblems(text).length > 0).length >= 5, "drivers/ hold SQL");
  });

  test(`no source file outside test/ is longer than ${MAX_LINES} lines`, async () => {
    const sources = await readAll(["", "src", "drivers", "adapters", "bench", "examples"]);
    assert.ok(sources.has("mod.ts") && [...sources.keys()].some((p) => p.startsWith("drivers/")), "the tree was found");
    assertNone([...sources].map(([path, text]) => [path, tooLong(text) === null ? [] : [`${tooLong(text)} lines`]]));
  });

  test("examples/ import only what the package exports (mod.ts, hono.ts, client.ts) and each other", async () => {
    const examples = await readAll(["examples"]);
    const outside = [...examples].map(([path, text]): [string, string[]] => [
      path,
      scan(text).imports.map((i) => i.specifier)
        .filter((s) => s.startsWith(".") && !/^\.\.\/(mod|hono|client)\.ts$/.test(s) && !/^\.\/[\w-]+\.ts$/.test(s))
        .map((s) => `imports ${s}, which the package does not export`),
    ]);
    assertNone(outside);
    assert.ok(examples.size >= 3, "examples/ was read");
  });

  test("src/ imports nothing outside src/ (mod.ts binds the drivers and adapters)", async () => {
    const sources = await readAll(["src"]);
    assertNone([...sources].map(([path, text]) => [path, importsOutsideSrc(path, text)]));
  });

  test("no import cycle among the modules of src/ and drivers/ (type imports included)", async () => {
    const found = cycles(importGraph(await readAll(["src", "drivers"])));
    assert.deepEqual(found, [], `import cycles:\n${found.map((c) => c.join(" <-> ")).join("\n")}`);
  });

  test("the edge client's static imports reach no Worker, runtime global, Node module, src/runtime/ or package", async () => {
    const sources = await readAll(["", "src", "drivers", "adapters"]);
    const { reached, problems } = edgeProblems("client.ts", sources);
    for (const module of ["src/client/client.ts", "src/enqueue.ts", "drivers/connect.ts"]) {
      assert.ok(reached.includes(module), `the walk reached ${module}`);
    }
    assertNone(problems);
  });
});

describe("every rule can fail", () => {
  test("the lexer tells code from strings, comments and regular expressions", () => {
    const { code, strings, imports } = scan(
      [
        'import type { A } from "./a.ts";',
        "export * from './b.ts';",
        "// Deno.exit() in a comment",
        "/* process.env in a block comment */",
        'const re = /[\'"]\\/x/g; const half = 4 / 2;',
        "const t = `a ${`b ${\"c\"}`} d`;",
        'const m = await import("../drivers/x.ts");',
      ].join("\n"),
    );
    assert.deepEqual(imports, [
      { specifier: "./a.ts", dynamic: false },
      { specifier: "./b.ts", dynamic: false },
      { specifier: "../drivers/x.ts", dynamic: true },
    ]);
    assert.deepEqual(strings, ["./a.ts", "./b.ts", "c", "b ${}", "a ${} d", "../drivers/x.ts"]);
    assert.doesNotMatch(code, /Deno|process/);
    assert.match(code, /4 \/ 2/);
  });

  test("runtime globals and Node modules are found in code, not in comments or prose", () => {
    assert.equal(runtimeProblems("const pid = Deno.pid;").length, 1);
    assert.equal(runtimeProblems("const env = process.env.X;").length, 1);
    assert.equal(runtimeProblems("const g = (globalThis as any).Bun;").length, 1);
    assert.equal(runtimeProblems('const has = "Deno" in globalThis;').length, 1);
    assert.equal(runtimeProblems('import { readFile } from "node:fs/promises";').length, 1);
    assert.equal(runtimeProblems('import os from "os";').length, 1);
    assert.deepEqual(runtimeProblems('// Deno.exit()\nconst s = "Deno.exit() and process.env";'), []);
    assert.equal(runtimeProblems('const on = typeof Deno !== "undefined";').length, 1);
    assert.equal(runtimeProblems('const pid = Deno["pid"];').length, 1);
    assert.equal(runtimeProblems("const { Deno: D } = globalThis as any;").length, 1);
    assert.equal(runtimeProblems("const B = Bun;").length, 1);
    assert.equal(runtimeProblems('const p = (globalThis as any)["process"];').length, 1);
    assert.equal(runtimeProblems('const fs = require("fs");').length, 1);
    assert.deepEqual(runtimeProblems("const kind = worker.process; this.process();"), []);
  });

  test("SQL is found in strings and templates, not in comments or lower-case prose", () => {
    assert.equal(sqlProblems('const s = "SELECT id FROM stint_jobs";').length, 1);
    assert.equal(sqlProblems("const s = sql`SELECT ${cols} FROM t WHERE id = ${id}`;").length, 1);
    assert.equal(sqlProblems("q.run(`INSERT INTO t (a) VALUES (?)`);").length, 1);
    assert.equal(sqlProblems('run("UPDATE stint_jobs SET status = ?");').length, 1);
    assert.equal(sqlProblems('run("DELETE FROM t");').length, 1);
    assert.equal(sqlProblems('run("CREATE TABLE IF NOT EXISTS t (a INT)");').length, 1);
    assert.deepEqual(sqlProblems('// SELECT id FROM t\nthrow new Error("select a queue from the list, then delete from it");'), []);
    assert.equal(sqlProblems('q("select id from stint_jobs where id = ?");').length, 1);
    assert.equal(sqlProblems('q("insert into stint_jobs (id) values (?)");').length, 1);
    assert.equal(sqlProblems('q("update stint_jobs set status = ?");').length, 1);
    assert.equal(sqlProblems('q("delete from stint_jobs where id = ?");').length, 1);
    assert.equal(sqlProblems('q("SELECT pg_notify($1, $2)");').length, 1);
    assert.equal(sqlProblems('q("ALTER TABLE t ADD COLUMN a INT");').length, 1);
    assert.equal(sqlProblems('q("drop table t");').length, 1);
    assert.equal(sqlProblems('q("REPLACE INTO t VALUES (?)");').length, 1);
  });

  test("a file of 401 lines is too long, one of 400 is not", () => {
    assert.equal(tooLong("x\n".repeat(400)), null);
    assert.equal(tooLong("x\n".repeat(401)), 401);
    assert.equal(tooLong(`${"x\n".repeat(400)}x`), 401);
  });

  test("src/ importing a driver or an adapter, even lazily, is found; src/ importing src/ is not", () => {
    assert.deepEqual(importsOutsideSrc("src/runtime/x.ts", 'import { a } from "../errors.ts";\nimport "croner";'), []);
    assert.deepEqual(importsOutsideSrc("src/connect.ts", 'const m = await import("../drivers/postgres/mod.ts");'), [
      "dynamically imports ../drivers/postgres/mod.ts",
    ]);
    assert.deepEqual(importsOutsideSrc("src/x.ts", 'import type { P } from "../adapters/mod.ts";'), ["imports ../adapters/mod.ts"]);
  });

  test("cycles are found, type imports included; a chain is no cycle", () => {
    const sources = new Map([
      ["src/a.ts", 'import type { B } from "./b.ts";'],
      ["src/b.ts", 'import { c } from "./c.ts";'],
      ["src/c.ts", 'export { a } from "./a.ts";'],
      ["src/d.ts", 'import { a } from "./a.ts";\nconst lazy = () => import("./d.ts");'],
    ]);
    assert.deepEqual(cycles(importGraph(sources)), [["src/a.ts", "src/b.ts", "src/c.ts"]]);
    sources.set("src/c.ts", "export const c = 1;");
    assert.deepEqual(cycles(importGraph(sources)), []);
  });

  test("the edge client's walk finds a Worker, a Node module, a runtime global, src/runtime/ and a package, not a lazy driver", () => {
    const sources = new Map([
      ["client.ts", 'import { c } from "./src/client/c.ts";\nexport const d = () => import("./drivers/pg.ts");'],
      ["src/client/c.ts", 'import type { R } from "../runtime/r.ts";\nimport { x } from "croner";\nexport const env = Deno.env;'],
      ["src/runtime/r.ts", 'import { connect } from "node:net";\nexport const w = new Worker("x.ts");'],
      ["drivers/pg.ts", 'import { connect } from "node:net";\nimport postgres from "postgres";'],
    ]);
    const { reached, problems } = edgeProblems("client.ts", sources);
    assert.deepEqual(reached, ["client.ts", "src/client/c.ts", "src/runtime/r.ts"]);
    assert.deepEqual(problems.filter(([, list]) => list.length > 0), [
      ["src/client/c.ts", ["touches a runtime global: Deno", "imports the package croner (a database client loads with its driver, lazily)"]],
      ["src/runtime/r.ts", ["imports node:net", "uses Worker", "is the runtime (src/runtime/)"]],
    ]);
    // A clean graph passes; a file the walk cannot find is a problem, not a silent pass.
    assert.deepEqual(edgeProblems("a.ts", new Map([["a.ts", 'import "./b.ts";'], ["b.ts", ""]])).problems, [["a.ts", []], ["b.ts", []]]);
    assert.deepEqual(edgeProblems("a.ts", new Map([["a.ts", 'import "./gone.ts";']])).problems, [["a.ts", []], ["gone.ts", ["is not in the tree"]]]);
  });
});
