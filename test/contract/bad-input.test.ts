/**
 * Bad input to the core API, against every target: each is a typed error that
 * names the problem, and nothing stored is touched.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, createStint, defineTask, EnqueueError, type Stint, StintError } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { queueNames, uniqueBackend, withDatabase, withStint } from "../support/harness.ts";

const plain = defineTask("plain", () => null);
const limited = defineTask("limited", () => null, { concurrency: { key: "account:{id}", limit: 1 } });

/** Rejects (or throws) with an error of `type` whose message matches `pattern`. */
async function refuses(fn: () => unknown, type: abstract new (...args: never[]) => StintError, pattern: RegExp, what = String(pattern)): Promise<void> {
  await assert.rejects(async () => await fn(), (error: unknown) => {
    assert.ok(error instanceof type, `${what}: expected ${type.name}, got ${String(error)}`);
    assert.match((error as Error).message, pattern, what);
    return true;
  });
}

async function assertNothingWritten(stint: Stint): Promise<void> {
  assert.deepEqual(await queueNames(stint), []);
  for (const status of ["ready", "scheduled"] as const) assert.deepEqual(await stint.listJobs(status), []);
}

/** A NUL byte, and both halves of a surrogate pair on their own. */
const unstorable = ["q\0evil", "q\uD800", "\uDC00q", "a\uD83D"];

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("bad input", () => {
      test("a delay or runAt past the Date range is an EnqueueError before any statement", () =>
        withStint(target, { tasks: [plain] }, async (stint) => {
          for (const options of [{ delay: 1e20 }, { delay: 8.64e15 }, { delay: "100000000000d" }]) {
            await refuses(() => stint.enqueue(plain, null, options), EnqueueError, /delay/, JSON.stringify(options));
          }
          for (const runAt of [new Date(8.64e15 + 1), new Date(NaN)]) {
            await refuses(() => stint.enqueue(plain, null, { runAt }), EnqueueError, /runAt/, String(runAt));
          }
          await refuses(
            () => stint.enqueueAll([{ task: plain }, { task: plain, options: { delay: 1e20 } }]),
            EnqueueError,
            /items\[1\]: delay/,
          );
          await assertNothingWritten(stint);
          // The far end of the range still works.
          const far = await stint.enqueue(plain, null, { runAt: new Date(8.64e15) });
          assert.equal((await stint.getResult(far.id)).scheduledAt.getTime(), 8.64e15);
        }));

      test("names with a NUL byte or a lone surrogate are refused everywhere", () =>
        withStint(target, { tasks: [plain] }, async (stint) => {
          for (const name of unstorable) {
            const what = JSON.stringify(name);
            await refuses(() => stint.enqueue(plain, null, { queue: name }), EnqueueError, /NUL/, what);
            await refuses(() => stint.enqueueAll([{ task: plain, options: { queue: name } }]), EnqueueError, /NUL/, what);
            await refuses(() => stint.queue(name), ConfigError, /NUL/, what);
            await refuses(() => stint.retryAll({ queue: name }), ConfigError, /NUL/, what);
            await refuses(() => stint.discardAll({ task: name }), ConfigError, /NUL/, what);
            await refuses(() => stint.listJobs("ready", { queue: name }), ConfigError, /NUL/, what);
            await refuses(() => stint.unschedule(name), ConfigError, /NUL/, what);
            await refuses(() => defineTask(name, () => null), ConfigError, /NUL/, what);
            await refuses(() => defineTask("t", () => null, { queue: name }), ConfigError, /NUL/, what);
          }
          await assertNothingWritten(stint);
          // Today on libSQL, pausing "q\0evil" paused "q": the NUL cut the name short.
          assert.equal(await stint.queue("q").isPaused(), false);
        }));

      test("a concurrency key that resolves to a NUL byte or a lone surrogate is an EnqueueError", () =>
        withStint(target, { tasks: [limited] }, async (stint) => {
          for (const id of unstorable) {
            await refuses(() => stint.enqueue(limited, { id }), EnqueueError, /concurrency\.key.*NUL/, JSON.stringify(id));
          }
          await assertNothingWritten(stint);
        }));

      test("a task name with a NUL byte is refused at enqueue by name", () =>
        withDatabase(target, async (url) => {
          // A client without tasks may enqueue any name: the name itself is still checked.
          const stint = await createStint({ url, backend: uniqueBackend() });
          try {
            await stint.migrate();
            for (const name of unstorable) await refuses(() => stint.enqueue(name), EnqueueError, /NUL/, JSON.stringify(name));
            await assertNothingWritten(stint);
          } finally {
            await stint.close();
          }
        }));

      test("worker queue selectors with a NUL byte or a lone surrogate are a ConfigError", () =>
        withDatabase(target, async (url) => {
          for (const queues of [["q\0evil"], ["email", "q\uD800*"]]) {
            await refuses(
              () => createStint({ url, backend: uniqueBackend(), workers: [{ queues }] }),
              ConfigError,
              /workers\[0\]\.queues\[\d\].*NUL/,
              JSON.stringify(queues),
            );
          }
        }));

      test("a payload nested deeper than the validator walks is an EnqueueError, not a RangeError", () =>
        withStint(target, { tasks: [plain] }, async (stint) => {
          for (const depth of [5_000, 200_000]) {
            let deep: unknown = null;
            for (let i = 0; i < depth; i++) deep = i % 2 ? { a: deep } : [deep];
            await refuses(() => stint.enqueue(plain, deep), EnqueueError, /nested more than \d+ levels deep/, `depth ${depth}`);
          }
          await assertNothingWritten(stint);
        }));

      test("null, NaN and wrong-type options on public methods are typed errors", () =>
        withStint(target, { tasks: [plain] }, async (stint) => {
          const cases: Array<[string, () => unknown, RegExp]> = [
            ["health(null)", () => stint.health(null as never), /health options/],
            ["health(5)", () => stint.health(5 as never), /health options/],
            ["health({ maxAge: NaN })", () => stint.health({ maxAge: NaN }), /maxAge/],
            ["health({ max: 1 })", () => stint.health({ max: 1 } as never), /"max"/],
            ["listJobs limit NaN", () => stint.listJobs("failed", { limit: NaN }), /limit/],
            ["listJobs limit 0", () => stint.listJobs("failed", { limit: 0 }), /limit/],
            ["listJobs limit '5'", () => stint.listJobs("failed", { limit: "5" as never }), /limit/],
            ["listJobs limit 1e9", () => stint.listJobs("failed", { limit: 1e9 }), /limit/],
            ["listJobs null", () => stint.listJobs("failed", null as never), /listJobs options/],
            ["listJobs bad status", () => stint.listJobs("nope" as never), /not a job status/],
            ["listJobs bad before", () => stint.listJobs("failed", { before: "x" }), /before/],
            ["listJobs unknown key", () => stint.listJobs("failed", { limt: 5 } as never), /"limt"/],
            ["retryAll(null)", () => stint.retryAll(null as never), /filter/],
            ["discardAll([])", () => stint.discardAll([] as never), /filter/],
            ["prune(null)", () => stint.prune(null as never), /prune/],
            ["prune huge window", () => stint.prune({ finishedOlderThan: 1e20 }), /finishedOlderThan/],
          ];
          for (const [what, fn, pattern] of cases) await refuses(fn, ConfigError, pattern, what);
          // NaN is named as NaN, not as JSON's "null".
          await refuses(() => stint.enqueue(plain, null, { priority: NaN }), EnqueueError, /got NaN$/, "priority NaN");
          await assertNothingWritten(stint);
        }));

      test("createStint(null) and other non-objects are a ConfigError", () =>
        withDatabase(target, async () => {
          for (const options of [null, 5, "file:x.db", []]) {
            await refuses(() => createStint(options as never), ConfigError, /createStint options/, JSON.stringify(options));
          }
        }));

      test("every method after close() is STINT_CLOSED, like start()", () =>
        withDatabase(target, async (url) => {
          const stint = await createStint({ url, backend: uniqueBackend(), tasks: [plain] });
          await stint.migrate();
          const { id } = await stint.enqueue(plain);
          const kept = stint.queue("default");
          await stint.close();
          const calls: Array<[string, () => unknown]> = [
            ["enqueue", () => stint.enqueue(plain)],
            ["enqueueAll", () => stint.enqueueAll([{ task: plain }])],
            ["getResult", () => stint.getResult(id)],
            ["waitFor", () => stint.waitFor(id)],
            ["cancel", () => stint.cancel(id)],
            ["retryJob", () => stint.retryJob(id)],
            ["discardJob", () => stint.discardJob(id)],
            ["enqueueAgain", () => stint.enqueueAgain(id)],
            ["retryAll", () => stint.retryAll()],
            ["discardAll", () => stint.discardAll()],
            ["queue", () => stint.queue("default")],
            ["queues", () => stint.queues()],
            ["queueDepths", () => stint.queueDepths()],
            ["a queue handle kept from before", () => kept.size()],
            ["pause through a kept handle", () => kept.pause()],
            ["listJobs", () => stint.listJobs("ready")],
            ["jobs", () => stint.jobs()],
            ["stats", () => stint.stats()],
            ["health", () => stint.health()],
            ["prune", () => stint.prune()],
            ["unschedule", () => stint.unschedule("k")],
            ["migrate", () => stint.migrate()],
            ["start", () => stint.start()],
          ];
          for (const [what, fn] of calls) {
            await assert.rejects(async () => await fn(), (error: unknown) => {
              assert.ok(error instanceof StintError, `${what}: ${String(error)}`);
              assert.equal(error.code, "STINT_CLOSED", `${what}: ${error.message}`);
              assert.match(error.message, /after close\(\)/, what);
              return true;
            });
          }
          await stint.close(); // a second close is still harmless
        }));
    });
  });
}
