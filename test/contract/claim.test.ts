/**
 * Claim order, through the public Driver's jobClaim (no runtime, no timing):
 * selector order beats priority; within a selector, priority then age; paused
 * queues are skipped inside the claim (SEMANTICS 4, 7). And the promotion of
 * due scheduled jobs (jobPromoteDue) that feeds it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, createStint, defineTask, type Stint } from "../../mod.ts";
import { targetsWithEngine } from "../support/targets.ts";
import { uniqueBackend, withDatabase, withStint } from "../support/harness.ts";
import { claim, claimOneByOne, registerProcess } from "../support/driver.ts";

/** Enqueues one job per [queue, priority] pair, in order (so earlier ones are older). */
async function enqueueEach(stint: Stint, specs: Array<[string, number]>): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  for (const [queue, priority] of specs) {
    const { id } = await stint.enqueue("t", { queue, priority }, { queue, priority });
    labels.set(id, `${queue}:${priority}`);
  }
  return labels;
}

async function orderOf(stint: Stint, queues: string[], labels: Map<string, string>): Promise<string[]> {
  const processId = await registerProcess(stint);
  return (await claimOneByOne(stint, processId, queues)).map((j) => labels.get(j.id)!);
}

/** A job with a concurrency key is promoted by the shared engine on every driver (PostgreSQL's statement skips it). */
const plain = defineTask("t", () => null);
const gated = defineTask("gated", () => null, { concurrency: { key: `promote-${crypto.randomUUID()}`, limit: 5 } });

for (const target of targetsWithEngine) {
  describe(target.name, { skip: target.skip }, () => {
    describe("claim order", () => {
      test("selector order beats priority across selectors", () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [["a", 100], ["b", 0], ["c", 50], ["b", -10], ["a", 0]]);
          assert.deepEqual(await orderOf(stint, ["b", "a", "c"], labels), ["b:0", "b:-10", "a:100", "a:0", "c:50"]);
        }));

      test("one claim of many jobs returns them in the same order", () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [["a", 100], ["b", 0], ["c", 50], ["b", 5], ["a", 0]]);
          const processId = await registerProcess(stint);
          const jobs = await claim(stint, processId, ["b", "a", "c"], 10);
          assert.deepEqual(jobs.map((j) => labels.get(j.id)), ["b:5", "b:0", "a:100", "a:0", "c:50"]);
          assert.ok(jobs.every((j) => j.attempt === 1));
        }));

      test('"*" takes every queue by priority, then age', () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [["x", 0], ["y", 5], ["z", 0], ["w", 5], ["v", -3]]);
          assert.deepEqual(await orderOf(stint, ["*"], labels), ["y:5", "w:5", "x:0", "z:0", "v:-3"]);
        }));

      test("within a prefix selector jobs go by priority then age, not by queue name", () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [
            ["email_b", 0],
            ["email_a", 0],
            ["other", 100],
            ["email_z", 1],
            ["emails", 0],
            ["xemail", 100],
          ]);
          assert.deepEqual(await orderOf(stint, ["email*"], labels), [
            "email_z:1",
            "email_b:0",
            "email_a:0",
            "emails:0",
          ]);
          assert.equal(await stint.queue("other").size(), 1, "a queue outside the prefix is left alone");
          assert.equal(await stint.queue("xemail").size(), 1, "the prefix anchors at the start");
        }));

      test("exact selectors, then a prefix, then everything else", () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [["misc", 90], ["mail_low", 1], ["urgent", -50], ["mail_hi", 10]]);
          assert.deepEqual(
            await orderOf(stint, ["urgent", "mail*", "*"], labels),
            ["urgent:-50", "mail_hi:10", "mail_low:1", "misc:90"],
          );
        }));

      test("a queue matched by two selectors ranks by the first that matches", () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [["jobs_b", 0], ["jobs_a", 9], ["zz", 50]]);
          assert.deepEqual(await orderOf(stint, ["jobs*", "jobs_b", "zz"], labels), ["jobs_a:9", "jobs_b:0", "zz:50"]);
        }));

      test("SQL wildcards in a prefix selector are literal characters", () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [["a_b", 0], ["axb", 0], ["a%c", 0], ["abc", 0], ["a!x", 0], [
            "a!!y",
            0,
          ]]);
          assert.deepEqual(await orderOf(stint, ["a_*"], labels), ["a_b:0"]);
          assert.deepEqual(await orderOf(stint, ["a%*"], labels), ["a%c:0"]);
          assert.deepEqual(await orderOf(stint, ["a!*"], labels), ["a!x:0", "a!!y:0"]);
          assert.equal(await stint.queue("abc").size(), 1);
          assert.equal(await stint.queue("axb").size(), 1);
        }));

      test("queue names and prefix selectors are case-sensitive", () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [["MAILER", 5], ["Mail", 4], ["mailer", 1], ["MAIL", 3], [
            "mail",
            2,
          ]]);
          assert.deepEqual(await orderOf(stint, ["mail"], labels), ["mail:2"]);
          assert.deepEqual(await orderOf(stint, ["mail*"], labels), ["mailer:1"]);
          assert.deepEqual(await orderOf(stint, ["*"], labels), ["MAILER:5", "Mail:4", "MAIL:3"]);
        }));

      test("scheduled jobs are not claimed; claiming marks jobs running and counts the attempt", () =>
        withStint(target, {}, async (stint) => {
          await stint.enqueue("t", null, { delay: "1h" });
          const ids = (await stint.enqueueAll([1, 2, 3, 4, 5].map((n) => ({ task: "t", payload: n })))).map((h) =>
            h.id
          );
          const processId = await registerProcess(stint);
          const before = Date.now();
          const jobs = await claim(stint, processId, ["*"], 2);
          assert.deepEqual(jobs.map((j) => j.id), ids.slice(0, 2));
          assert.deepEqual(jobs.map((j) => JSON.parse(j.payload)), [1, 2]);
          const r = await stint.getResult(ids[0]);
          assert.equal(r.status, "running");
          assert.equal(r.attempts, 1);
          assert.ok(r.startedAt !== null && r.startedAt.getTime() >= before - 1000);
          assert.equal(await stint.queue("default").size(), 3);
          assert.equal((await claim(stint, processId, ["*"], 100)).length, 3);
          assert.deepEqual(await claim(stint, processId, ["*"], 100), [], "the scheduled job stays scheduled");
          assert.equal((await stint.driver.queueList({ backend: stint.backend, queue: "default" }))[0].scheduled, 1);
        }));
    });

    describe("promotion", () => {
      test("due jobs become ready by due time then priority, up to the limit, their latency counted from their due time", () =>
        withStint(target, { tasks: [plain, gated] }, async (stint) => {
          const t = Date.now();
          const h = (n: number) => new Date(t + n * 3_600_000);
          const [a, b, c, keyed, later] = [
            await stint.enqueue("t", "a", { queue: "pa", runAt: h(2) }),
            await stint.enqueue("t", "b", { queue: "pb", runAt: h(1), priority: 1 }),
            await stint.enqueue("t", "c", { queue: "pa", runAt: h(1), priority: 5 }),
            await stint.enqueue(gated, "keyed", { queue: "pk", runAt: h(1.5) }),
            await stint.enqueue("t", "later", { queue: "pa", runAt: h(9) }),
          ];
          const promote = (limit: number) => stint.driver.jobPromoteDue({ backend: stint.backend, limit, now: h(3) });
          const first = await promote(1);
          assert.deepEqual(first, { count: 1, queues: ["pa"] }, "the higher priority of the earliest due");
          assert.equal((await stint.getResult(c.id)).status, "ready");
          assert.equal((await stint.getResult(b.id)).status, "scheduled");
          const rest = await promote(10);
          assert.equal(rest.count, 3);
          assert.deepEqual([...rest.queues].sort(), ["pa", "pb", "pk"]);
          for (const { id } of [a, b, keyed]) assert.equal((await stint.getResult(id)).status, "ready");
          assert.equal((await stint.getResult(later.id)).status, "scheduled");
          assert.deepEqual(await promote(10), { count: 0, queues: [] });
          const queues = await stint.driver.queueList({ backend: stint.backend });
          const oldest = new Map(queues.map((q) => [q.queue, q.oldestReadyAt?.getTime()]));
          assert.deepEqual(Object.fromEntries(oldest), { pa: h(1).getTime(), pb: h(1).getTime(), pk: h(1.5).getTime() });
          const processId = await registerProcess(stint);
          const claimed = await claim(stint, processId, ["pa", "pb", "pk"], 10);
          assert.deepEqual(claimed.map((j) => JSON.parse(j.payload)), ["c", "a", "b", "keyed"]);
          assert.ok(claimed.every((j) => j.attempt === 1));
        }));
    });

    describe("paused queues", () => {
      test("a paused queue is skipped by exact, prefix and wildcard selectors", () =>
        withStint(target, {}, async (stint) => {
          const labels = await enqueueEach(stint, [["a", 100], ["b", 0], ["ab", 50]]);
          await stint.queue("a").pause();
          assert.deepEqual(await orderOf(stint, ["a"], labels), []);
          assert.deepEqual(await orderOf(stint, ["a*"], labels), ["ab:50"]);
          assert.deepEqual(await orderOf(stint, ["*"], labels), ["b:0"]);
          assert.equal(await stint.queue("a").size(), 1, "the paused queue keeps its job");
          await stint.queue("a").resume();
          assert.deepEqual(await orderOf(stint, ["*"], labels), ["a:100"]);
        }));

      test("a pause just before a claim is honoured (the check is inside the claim)", () =>
        withStint(target, {}, async (stint) => {
          await stint.enqueueAll(
            Array.from({ length: 20 }, (_, i) => ({ task: "t", payload: i, options: { queue: "p" } })),
          );
          const processId = await registerProcess(stint);
          const claimed = [];
          for (let i = 0; i < 4; i++) {
            claimed.push(...await claim(stint, processId, ["p"], 2));
            if (i === 1) await stint.queue("p").pause();
          }
          assert.equal(claimed.length, 4, "claims stop as soon as the pause is committed");
          assert.equal(await stint.queue("p").size(), 16);
        }));
    });

    describe("worker queue selectors", () => {
      test("omitted queues means every queue", () =>
        withStint(target, {}, (stint) => {
          assert.deepEqual(stint.config.workers.map((w) => w.queues), [["*"]]);
          assert.deepEqual(stint.config.workers[0].selectors, [{ kind: "all" }]);
          return Promise.resolve();
        }));

      test("an empty queues list is a ConfigError at createStint", () =>
        withDatabase(target, async (url) => {
          await assert.rejects(
            async () => {
              const stint = await createStint({ url, backend: uniqueBackend(), workers: [{ queues: [] }] });
              await stint.close();
            },
            (error: unknown) => {
              assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
              assert.match(error.message, /workers\[0\]\.queues/);
              return true;
            },
          );
        }));
    });
  });
}
