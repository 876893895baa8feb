/**
 * Where a Stint drain spends its time: driver calls (count, time, batch sizes),
 * how often a 10 ms timer got to run (a starved timer queue means heartbeats,
 * cancel checks and the completer's flush wait too), and on libSQL files the
 * native time of every statement shape.
 *
 *   npx deno run -A bench/profile.ts [--url URL] [--jobs 20000] [--concurrency 50]
 */
// The native module under @libsql/client (a transitive dependency), patched to time each statement.
import Database from "libsql";
import { createStint, defineTask } from "../mod.ts";
import type { Driver } from "../src/driver.ts";
import { makeTempDir, removeDir, scriptArgs, sleep } from "./env.ts";
import { parseOptions } from "./options.ts";

interface Tally {
  calls: number;
  ms: number;
  sizes: number[];
}

const options = parseOptions(scriptArgs());
const n = options.jobs;
const concurrency = options.concurrency[0];
const dir = options.url === null ? await makeTempDir() : null;
const url = options.url ?? `file:${dir}/profile.db`;
const backend = `profile-${Date.now().toString(36)}`;

// Statement shapes, with IN lists and VALUES tuples folded so one shape is one line.
const statements = new Map<string, { n: number; prepareMs: number; execMs: number }>();
let recording = false;
const shape = (sql: string) =>
  sql.replace(/\s+/g, " ").replace(/\(\?(, \?)*\)(, \(\?(, \?)*\))*/g, "(…)").replace(/\?(, \?)+/g, "…").slice(0, 72);
const proto = (Database as unknown as { prototype: Record<string, (...a: unknown[]) => unknown> }).prototype;
const prepare = proto.prepare;
proto.prepare = function (this: unknown, sql: unknown) {
  const t0 = performance.now();
  const stmt = prepare.call(this, sql) as Record<string, (...a: unknown[]) => unknown>;
  if (!recording) return stmt;
  const key = shape(String(sql));
  const s = statements.get(key) ?? { n: 0, prepareMs: 0, execMs: 0 };
  statements.set(key, s);
  s.n++;
  s.prepareMs += performance.now() - t0;
  for (const m of ["run", "all", "get"]) {
    const f = stmt[m];
    stmt[m] = (...a: unknown[]) => {
      const t = performance.now();
      try {
        return f.apply(stmt, a);
      } finally {
        s.execMs += performance.now() - t;
      }
    };
  }
  return stmt;
};

const tallies = new Map<string, Tally>();
function counted(inner: Driver): Driver {
  return new Proxy(inner, {
    get(target, key) {
      const value = (target as unknown as Record<string | symbol, unknown>)[key];
      if (typeof value !== "function") return value;
      return async (p: Record<string, unknown>) => {
        const t0 = performance.now();
        const result = await value.call(target, p);
        if (recording) {
          const t = tallies.get(String(key)) ?? { calls: 0, ms: 0, sizes: [] };
          tallies.set(String(key), t);
          t.calls++;
          t.ms += performance.now() - t0;
          if (key === "jobClaim") t.sizes.push((result as unknown[]).length);
          if (key === "jobFinishMany") t.sizes.push((p.outcomes as unknown[]).length);
        }
        return result;
      };
    },
  });
}

let ran = 0;
let allRan!: () => void;
const everyoneRan = new Promise<void>((resolve) => (allRan = resolve));
const task = defineTask("bench_noop", (_p: { i: number }) => {
  if (++ran === n) allRan();
});
const plain = await createStint({ url, backend });
const stint = await createStint({
  url,
  backend,
  driver: counted(plain.driver),
  tasks: [task],
  workers: [{ concurrency, prefetch: options.prefetch, pollingInterval: `${options.pollMs}ms` }],
  preserveFinishedJobs: false,
});
await stint.migrate();
for (let i = 0; i < n; i += 1000) {
  await stint.enqueueAll(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ task, payload: { i: i + k } })));
}
let ticks = 0;
const timer = setInterval(() => ticks++, 10);
recording = true;
const t0 = performance.now();
const supervisor = await stint.start({ mode: "async" });
await everyoneRan;
for (;;) {
  const infos = await stint.driver.queueList({ backend });
  if (infos.every((q) => q.ready === 0 && q.running === 0)) break;
  await sleep(2);
}
const ms = performance.now() - t0;
recording = false;
clearInterval(timer);
await supervisor.stop();
await stint.close();
if (dir !== null) await removeDir(dir);

console.log(
  `drain of ${n} no-op jobs at c=${concurrency} on ${url.split(":")[0]}: ${Math.round(n / (ms / 1000))} jobs/s`,
);
console.log(
  `a 10 ms timer ran ${ticks} times in ${ms.toFixed(0)} ms (about ${Math.floor(ms / 10)} if never starved)\n`,
);
console.log("driver calls:");
for (const [name, t] of tallies) {
  const avg = t.sizes.length ? `, avg batch ${(t.sizes.reduce((a, b) => a + b, 0) / t.sizes.length).toFixed(1)}` : "";
  console.log(`  ${name}: ${t.calls} calls, ${t.ms.toFixed(0)} ms${avg}`);
}
if (statements.size > 0) {
  let total = 0;
  let count = 0;
  console.log("\nlibSQL statements (native prepare + execute):");
  for (const [key, s] of [...statements].sort((a, b) => b[1].prepareMs + b[1].execMs - a[1].prepareMs - a[1].execMs)) {
    total += s.prepareMs + s.execMs;
    count += s.n;
    console.log(
      `  ${String(s.n).padStart(6)} x  prepare ${s.prepareMs.toFixed(0).padStart(5)} ms  run ${
        s.execMs.toFixed(0).padStart(5)
      } ms  ${key}`,
    );
  }
  console.log(
    `  ${count} statements (${(count / n).toFixed(2)} per job), ${total.toFixed(0)} ms native of ${ms.toFixed(0)} ms`,
  );
}
