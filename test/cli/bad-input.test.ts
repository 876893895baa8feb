/**
 * The command line under bad input, run as a real child process of the same
 * runtime in a scratch directory: each mistake is one line on stderr naming
 * the problem, exit code 2, no stack, no password, and nothing created (no
 * ./stint.db: arguments and configuration are checked before any connection).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const cli = new URL("../../cli.ts", import.meta.url).pathname;
const isDeno = "Deno" in globalThis;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the scratch directory holds afterwards. */
  files: string[];
}

/** Runs the CLI in a fresh scratch directory holding `files` (a name ending in "/" is a directory). */
function run(args: string[], files: Record<string, string> = {}, env: Record<string, string> = {}): Promise<Run> {
  const cwd = mkdtempSync(join(tmpdir(), "stint-cli-"));
  for (const [name, text] of Object.entries(files)) {
    if (name.endsWith("/")) mkdirSync(join(cwd, name));
    else writeFileSync(join(cwd, name), text);
  }
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STINT_")));
  const child = spawn(process.execPath, isDeno ? ["run", "-A", cli, ...args] : [cli, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...clean, NO_COLOR: "1", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  // Only a safety net for a hung child: nothing here asserts on time.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      const after = readdirSync(cwd).sort();
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, stdout, stderr, files: after });
    })
  );
}

const FLAT = "url: file:flat.db\n";
const BACKENDS = 'backends:\n  a: { url: "file:a.db" }\n  b: { url: "file:b.db" }\n';

/** [what, args, files, what stderr must say] — every one a mistake the CLI must refuse before opening anything. */
const MISTAKES: Array<[string, string[], Record<string, string>, RegExp]> = [
  ["an unknown command", ["bogus"], {}, /unknown command "bogus"/],
  ["no command", [], {}, /no command given/],
  ["an unknown flag", ["migrate", "--bogus"], {}, /unknown flag --bogus/],
  ["an unknown short flag", ["migrate", "-x"], {}, /unknown flag "-x"/],
  ["a flag of another command", ["migrate", "--max-age", "5m"], {}, /--max-age is not a flag of migrate/],
  ["a flag missing its value", ["migrate", "--config"], {}, /--config needs a value/],
  ["a flag whose value is the next flag", ["migrate", "--url", "--backend", "a"], {}, /--url needs a value/],
  ["an empty value", ["migrate", "--url="], {}, /--url needs a value/],
  ["a flag given twice", ["migrate", "--url", "file:x.db", "--url", "file:y.db"], {}, /--url is given twice/],
  ["a value on a boolean flag", ["start", "--only-work=yes"], {}, /--only-work takes no value/],
  ["two commands", ["migrate", "stats"], {}, /unexpected argument "stats"/],
  ["conflicting flags", ["start", "--only-work", "--only-dispatch"], {}, /--only-work and --only-dispatch/],
  ["a bad --mode", ["start", "--mode", "turbo"], {}, /--mode: "turbo"/],
  ["--batch-size abc", ["prune", "--batch-size", "abc"], {}, /--batch-size: "abc" is not a whole number/],
  ["--batch-size 0", ["prune", "--batch-size", "0"], {}, /--batch-size: "0"/],
  ["--batch-size 1e3", ["prune", "--batch-size", "1e3"], {}, /--batch-size: "1e3"/],
  ["a bad prune duration", ["prune", "--finished-older-than", "soon"], {}, /--finished-older-than: "soon"/],
  ["a blank --task", ["prune", "--task", " x "], {}, /--task must be/],
  ["--max-age -5", ["health", "--max-age", "-5"], {}, /--max-age: "-5" is not a valid duration/],
  ["--max-age 0", ["health", "--max-age", "0"], {}, /--max-age must be greater than zero/],
  ["--config naming a directory", ["migrate", "--config", "conf"], { "conf/": "" }, /config file conf is a directory/],
  ["./stint.yml being a directory", ["migrate"], { "stint.yml/": "" }, /config file stint\.yml is a directory/],
  ["a missing --config file", ["migrate", "--config", "nope.yml"], {}, /config file nope\.yml does not exist/],
  ["invalid YAML", ["migrate", "--config", "s.yml"], { "s.yml": "a: [\n" }, /s\.yml: not valid YAML: /],
  ["a YAML list", ["migrate", "--config", "s.yml"], { "s.yml": "- a\n- b\n" }, /top level must be a mapping/],
  [
    "YAML mixing flat keys and backends:",
    ["migrate", "--config", "s.yml"],
    { "s.yml": `url: file:flat.db\n${BACKENDS}` },
    /s\.yml: url beside backends:/,
  ],
  ["an empty backend", ["migrate", "--config", "s.yml"], { "s.yml": "backends:\n  a:\n" }, /backend "a" is empty/],
  ["an empty backends:", ["migrate", "--config", "s.yml"], { "s.yml": "backends: {}\n" }, /backends: is empty/],
  ["backends: as a list", ["migrate", "--config", "s.yml"], { "s.yml": "backends: [a]\n" }, /backends must be a mapping/],
  [
    "an unknown backend alias",
    ["migrate", "--config", "s.yml", "--backend", "c"],
    { "s.yml": BACKENDS },
    /no backend "c" \(has: a, b\)/,
  ],
  ["an unknown option in YAML", ["migrate", "--config", "s.yml"], { "s.yml": "urll: file:x.db\n" }, /unknown option "urll"/],
  ["a bad option value in YAML", ["migrate", "--config", "s.yml"], { "s.yml": "shutdownTimeout: soon\n" }, /shutdownTimeout/],
  ["start without tasks", ["start", "--url", "file:x.db"], {}, /start: no tasks to run/],
  ["--rate-limit without a window", ["start", "--rate-limit", "10"], {}, /--rate-limit: "10" is not N\/DURATION/],
  ["--rate-limit 0/1s", ["start", "--rate-limit", "0/1s"], {}, /--rate-limit: 0 is not a whole number/],
  ["--rate-limit 1.5/1s", ["start", "--rate-limit", "1.5/1s"], {}, /--rate-limit: "1.5\/1s" is not N\/DURATION/],
  ["--rate-limit 10/0s", ["start", "--rate-limit", "10/0s"], {}, /--rate-limit: the DURATION must be above zero/],
  ["--rate-limit 10/soon", ["start", "--rate-limit", "10/soon"], {}, /--rate-limit's DURATION: "soon"/],
  ["--rate-limit on another command", ["stats", "--rate-limit", "1/1s"], {}, /--rate-limit is not a flag of stats/],
  [
    "a bad workers[].rateLimit in YAML",
    ["migrate", "--config", "s.yml"],
    { "s.yml": "workers:\n  - rateLimit: { limit: 0, per: 1s }\n" },
    /workers\[0\]\.rateLimit\.limit/,
  ],
  [
    "an unknown rateLimit key in YAML",
    ["migrate", "--config", "s.yml"],
    { "s.yml": "workers:\n  - rateLimit: { limit: 5, per: 1s, burst: 2 }\n" },
    /workers\[0\]\.rateLimit: unknown option "burst"/,
  ],
  ["a blank queue-depth QUEUE", ["queue-depth", " x"], {}, /queue-depth's QUEUE must be/],
  ["a value on --exclude-future-jobs", ["queue-depth", "--exclude-future-jobs=yes"], {}, /--exclude-future-jobs takes no value/],
  ["a queue after another command", ["stats", "extra"], {}, /unexpected argument "extra" after stats/],
  ["an unsupported URL scheme", ["migrate", "--url", "ftp://user:s3cret-pw@host/x"], {}, /url: /],
];

/** The one-line, stack-free, password-free shape every refusal shares. */
function assertRefused(what: string, result: Run, says: RegExp, before: string[]): void {
  const detail = `${what}: exit ${result.code}, stderr ${JSON.stringify(result.stderr)}`;
  assert.equal(result.code, 2, detail);
  const lines = result.stderr.split("\n").filter((l) => l.trim() !== "");
  assert.equal(lines.length, 1, `${detail}: one line`);
  assert.match(lines[0], /^stint: /, detail);
  assert.match(lines[0], says, detail);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `${detail}: no stack`);
  assert.ok(!result.stderr.includes("s3cret-pw"), `${detail}: no password`);
  assert.equal(result.stdout, "", `${detail}: nothing on stdout`);
  assert.deepEqual(result.files, before, `${what}: nothing created (no database file)`);
}

describe("cli: bad input", () => {
  test("each mistake is one stderr line naming it, exit 2, no stack, and nothing created", { timeout: 600_000 }, async () => {
    // Every case runs, and the report lists each one that went wrong, not only the first.
    const failures: string[] = [];
    for (const [what, args, files, says] of MISTAKES) {
      const result = await run(args, files);
      try {
        assertRefused(what, result, says, Object.keys(files).map((f) => f.replace(/\/$/, "")).sort());
      } catch (error) {
        failures.push((error as Error).message.split("\n")[0]);
      }
    }
    assert.deepEqual(failures, []);
  });

  test("a bad STINT_CONFIG, STINT_MODE or STINT_SKIP_RECURRING is refused the same way", { timeout: 120_000 }, async () => {
    assertRefused("STINT_CONFIG", await run(["migrate"], {}, { STINT_CONFIG: "gone.yml" }), /config file gone\.yml/, []);
    assertRefused("STINT_MODE", await run(["migrate"], {}, { STINT_MODE: "turbo" }), /STINT_MODE: "turbo"/, []);
    assertRefused(
      "STINT_SKIP_RECURRING",
      await run(["start", "--only-dispatch"], {}, { STINT_SKIP_RECURRING: "maybe" }),
      /STINT_SKIP_RECURRING/,
      [],
    );
  });

  test("a connection failure names the host but never the password (flag, env or YAML)", { timeout: 120_000 }, async () => {
    const url = "postgres://u:s3cret-pw@127.0.0.1:1/x";
    const attempts: Array<[string, Promise<Run>]> = [
      ["--url", run(["migrate", "--url", url])],
      ["STINT_DATABASE_URL", run(["migrate"], {}, { STINT_DATABASE_URL: url })],
      ["YAML", run(["migrate", "--config", "s.yml"], { "s.yml": `backends:\n  a: { url: "${url}" }\n` })],
      ["a malformed URL", run(["migrate", "--url", "postgres://u:s3cret-pw@[bad/x"])],
    ];
    for (const [what, pending] of attempts) {
      const result = await pending;
      const detail = `${what}: exit ${result.code}, stderr ${JSON.stringify(result.stderr)}`;
      assert.notEqual(result.code, 0, detail);
      const lines = result.stderr.split("\n").filter((l) => l.trim() !== "");
      assert.equal(lines.length, 1, detail);
      assert.ok(!result.stderr.includes("s3cret-pw"), `${detail}: no password`);
      assert.doesNotMatch(result.stderr, /^\s+at /m, detail);
      if (what !== "a malformed URL") assert.match(lines[0], /127\.0\.0\.1:1\b/, `${detail}: names host:port`);
    }
  });

  test("the good paths still work: help exits 0, migrate runs against the YAML backend it names", { timeout: 120_000 }, async () => {
    for (const args of [["--help"], ["help"], ["migrate", "-h"]]) {
      const help = await run(args);
      assert.equal(help.code, 0, args.join(" "));
      assert.match(help.stdout, /Exit codes: 0 done/);
      assert.match(help.stdout, /--rate-limit N\/DURATION/);
      assert.match(help.stdout, /queue-depth \[QUEUE…\] \[--exclude-future-jobs\]/);
      assert.deepEqual(help.files, []);
    }
    const migrate = await run(["migrate", "--config", "s.yml", "--backend", "b"], { "s.yml": BACKENDS });
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.match(migrate.stdout, /applied migrations|schema is up to date/);
    assert.ok(migrate.files.includes("b.db") && !migrate.files.includes("a.db"), migrate.files.join(" "));
    const flat = await run(["migrate", "--config", "s.yml"], { "s.yml": FLAT });
    assert.equal(flat.code, 0, flat.stderr);
    assert.ok(flat.files.includes("flat.db"), flat.files.join(" "));
  });
});
