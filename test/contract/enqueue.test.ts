/** enqueue, enqueueAll and getResult, against every target. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, EnqueueError, JobNotFoundError, type Stint } from "../../mod.ts";
import { targetsWithEngine } from "../support/targets.ts";
import { fastRuntime, queueNames, withStint } from "../support/harness.ts";
import { waitForStatus } from "../support/wait.ts";

const email = defineTask("send_email", (p: { to: string }) => p.to, { queue: "mail", priority: 7 });
const plain = defineTask("plain", () => null);

/** Asserts that `fn` rejects with an EnqueueError whose message matches `pattern`. */
async function rejectsEnqueue(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(error instanceof EnqueueError, `expected EnqueueError, got ${String(error)}`);
    assert.equal(error.code, "ENQUEUE_INVALID");
    assert.match(error.message, pattern);
    return true;
  });
}

/** Nothing at all is visible in the instance's backend. */
async function assertNothingWritten(stint: Stint): Promise<void> {
  assert.deepEqual(await queueNames(stint), []);
  assert.equal(await stint.queue("default").size(), 0);
  assert.deepEqual(await stint.driver.queueList({ backend: stint.backend }), []);
}

for (const target of targetsWithEngine) {
  describe(target.name, { skip: target.skip }, () => {
    describe("enqueue", () => {
      test("by task object: takes the task's queue and priority", () =>
        withStint(target, { tasks: [email, plain] }, async (stint) => {
          const handle = await stint.enqueue(email, { to: "a@example.com" });
          assert.equal(handle.status, "ready");
          const result = await stint.getResult(handle.id);
          assert.equal(result.task, "send_email");
          assert.equal(result.queue, "mail");
          assert.equal(result.priority, 7);
          assert.deepEqual(result.payload, { to: "a@example.com" });
          assert.equal(await stint.queue("mail").size(), 1);
        }));

      test("by name: a registered name takes that task's defaults", () =>
        withStint(target, { tasks: [email, plain] }, async (stint) => {
          const { id } = await stint.enqueue("send_email", { to: "b@example.com" });
          const result = await stint.getResult(id);
          assert.equal(result.queue, "mail");
          assert.equal(result.priority, 7);
          const other = await stint.getResult((await stint.enqueue("plain")).id);
          assert.equal(other.queue, "default");
          assert.equal(other.priority, 0);
          assert.equal(other.payload, null);
        }));

      test("an unknown name is an EnqueueError when tasks are registered", () =>
        withStint(target, { tasks: [email, plain] }, async (stint) => {
          await rejectsEnqueue(() => stint.enqueue("no_such_task", {}), /unknown task "no_such_task"/);
          await assertNothingWritten(stint);
        }));

      test("any name is accepted by an instance without tasks (enqueue from anywhere)", () =>
        withStint(target, {}, async (stint) => {
          const { id, status } = await stint.enqueue("elsewhere_task", { n: 1 });
          assert.equal(status, "ready");
          const result = await stint.getResult(id);
          assert.equal(result.task, "elsewhere_task");
          assert.equal(result.queue, "default");
          assert.equal(result.priority, 0);
        }));

      test("queue and priority options override the task's", () =>
        withStint(target, { tasks: [email] }, async (stint) => {
          const { id } = await stint.enqueue(email, { to: "c" }, { queue: "urgent", priority: -5 });
          const result = await stint.getResult(id);
          assert.equal(result.queue, "urgent");
          assert.equal(result.priority, -5);
          assert.equal(await stint.queue("mail").size(), 0);
          assert.equal(await stint.queue("urgent").size(), 1);
          const edge = await stint.getResult((await stint.enqueue(email, { to: "d" }, { priority: 100 })).id);
          assert.equal(edge.priority, 100);
          const low = await stint.getResult((await stint.enqueue(email, { to: "e" }, { priority: -100 })).id);
          assert.equal(low.priority, -100);
        }));

      test("runAt in the future and delay make the job scheduled", () =>
        withStint(target, {}, async (stint) => {
          const runAt = new Date(Date.now() + 3_600_000);
          const a = await stint.enqueue("t", null, { runAt });
          assert.equal(a.status, "scheduled");
          const ra = await stint.getResult(a.id);
          assert.equal(ra.status, "scheduled");
          assert.equal(ra.scheduledAt.getTime(), runAt.getTime());

          const before = Date.now();
          const b = await stint.enqueue("t", null, { delay: "5m" });
          assert.equal(b.status, "scheduled");
          const rb = await stint.getResult(b.id);
          assert.ok(rb.scheduledAt.getTime() >= before + 300_000, "delay is added to now");
          assert.ok(rb.scheduledAt.getTime() <= Date.now() + 300_000);

          const c = await stint.enqueue("t", null, { delay: 60_000 });
          assert.equal(c.status, "scheduled");
          assert.equal(await stint.queue("default").size(), 0, "scheduled jobs are not ready");
          const [info] = await stint.driver.queueList({ backend: stint.backend, queue: "default" });
          assert.equal(info.scheduled, 3);
        }));

      test("a runAt in the past or a zero delay makes the job ready", () =>
        withStint(target, {}, async (stint) => {
          assert.equal((await stint.enqueue("t", null, { runAt: new Date(Date.now() - 1000) })).status, "ready");
          assert.equal((await stint.enqueue("t", null, { delay: 0 })).status, "ready");
          assert.equal((await stint.enqueue("t", null, { delay: "0s" })).status, "ready");
          assert.equal(await stint.queue("default").size(), 3);
          // A job due in the past has waited since then: its latency clock starts at its runAt, alone or in a batch.
          const past = new Date(Date.now() - 60_000);
          await stint.enqueue("t", null, { queue: "past", runAt: past });
          await stint.enqueueAll([
            { task: "t", options: { queue: "past_batch", runAt: new Date(past.getTime() + 1000) } },
            { task: "t", options: { queue: "past_batch", runAt: past } },
          ]);
          for (const queue of ["past", "past_batch"]) {
            const [info] = await stint.driver.queueList({ backend: stint.backend, queue });
            assert.equal(info.oldestReadyAt?.getTime(), past.getTime(), queue);
          }
        }));

      test("runAt and delay together is an EnqueueError", () =>
        withStint(target, {}, async (stint) => {
          await rejectsEnqueue(() => stint.enqueue("t", null, { runAt: new Date(), delay: "1s" }), /runAt or delay/);
          await assertNothingWritten(stint);
        }));

      test("a priority outside -100..100 or not an integer is an EnqueueError", () =>
        withStint(target, {}, async (stint) => {
          for (const priority of [101, -101, 1.5, Number.NaN, "5" as unknown as number]) {
            await rejectsEnqueue(() => stint.enqueue("t", null, { priority }), /priority/);
          }
          await assertNothingWritten(stint);
        }));

      test("a payload that does not round-trip through JSON is an EnqueueError naming the path", () =>
        withStint(target, {}, async (stint) => {
          const circular: Record<string, unknown> = { a: 1 };
          circular.self = circular;
          // A field assigned in the constructor, not a parameter property: Node's type stripping refuses those.
          class Point {
            x: number;
            constructor(x: number) {
              this.x = x;
            }
          }
          // deno-lint-ignore no-sparse-arrays
          const sparse = [1, , 3];
          const cases: Array<[unknown, RegExp]> = [
            [{ when: new Date() }, /payload\.when is a Date/],
            [{ n: 10n }, /payload\.n is a BigInt/],
            [{ a: { b: undefined } }, /payload\.a\.b is undefined/],
            [[1, undefined], /payload\[1\] is undefined/],
            [{ x: Number.NaN }, /payload\.x is NaN/],
            [{ x: Infinity }, /payload\.x is Infinity/],
            [{ fn: () => 1 }, /payload\.fn is a function/],
            [{ p: new Point(1) }, /payload\.p is a Point/],
            [{ m: new Map() }, /payload\.m is a Map/],
            [circular, /payload\.self is a circular reference/],
            [{ list: sparse }, /payload\.list\[1\] is a hole/],
            [{ "odd key": [Symbol("s")] }, /payload\["odd key"\]\[0\] is a symbol/],
            [10n, /payload is a BigInt/],
          ];
          for (const [payload, pattern] of cases) {
            await rejectsEnqueue(() => stint.enqueue("t", payload), pattern);
          }
          await assertNothingWritten(stint);
        }));

      test("shared (non-circular) references and nested plain data are accepted and round-trip", () =>
        withStint(target, {}, async (stint) => {
          const shared = { k: [1, 2] };
          const payload = { a: shared, b: shared, s: 'ünïcødé ✓ \u0000 "q"', n: -0.5, t: true, z: null, e: [], o: {} };
          const { id } = await stint.enqueue("t", payload);
          assert.deepEqual((await stint.getResult(id)).payload, JSON.parse(JSON.stringify(payload)));
        }));

      test("an unknown option key is an EnqueueError", () =>
        withStint(target, {}, async (stint) => {
          await rejectsEnqueue(
            () => stint.enqueue("t", null, { priorty: 5 } as unknown as { priority: number }),
            /unknown enqueue option "priorty"/,
          );
          await assertNothingWritten(stint);
        }));

      test("bad delays are refused and nothing is written", () =>
        withStint(target, {}, async (stint) => {
          for (const delay of ["5 parsecs", "-1s", "", "10", -1, Number.POSITIVE_INFINITY]) {
            await rejectsEnqueue(() => stint.enqueue("t", null, { delay }), /delay/);
          }
          await rejectsEnqueue(
            () => stint.enqueue("t", null, { runAt: new Date("nonsense") }),
            /runAt must be a valid Date/,
          );
          await rejectsEnqueue(() => stint.enqueue("t", null, { runAt: "2030-01-01" as unknown as Date }), /runAt/);
          await assertNothingWritten(stint);
        }));

      test("bad task and queue names are refused", () =>
        withStint(target, {}, async (stint) => {
          await rejectsEnqueue(() => stint.enqueue("", null), /task name/);
          await rejectsEnqueue(() => stint.enqueue(" padded", null), /task name/);
          await rejectsEnqueue(() => stint.enqueue("t", null, { queue: "" }), /queue/);
          await rejectsEnqueue(() => stint.enqueue("t", null, { queue: "x".repeat(201) }), /queue/);
          await assertNothingWritten(stint);
        }));
    });

    describe("awkward text", () => {
      // Drivers pass batches as array literals or JSON: quoting must survive every character.
      const nasty = ['a"b', "back\\slash", '\\"', "{x,y}", "NULL", "null", " spaced ", "ünï\u{1F600}", "a,b", "\n\t", ""];

      test("payloads, queue names and return values with quotes, backslashes, braces and commas round-trip", () => {
        const echo = defineTask("echo", (p: { s: string[] }) => ({ back: p.s }));
        return withStint(target, { tasks: [echo], ...fastRuntime({ queues: ["*"] }) }, async (stint) => {
          const queues = nasty.filter((s) => s.length > 0 && s.trim() === s && !s.includes("\n"));
          const handles = await stint.enqueueAll(queues.map((queue) => ({ task: echo, payload: { s: nasty }, options: { queue } })));
          const single = await stint.enqueue(echo, { s: nasty }, { queue: 'q"\\' });
          for (const [i, h] of handles.entries()) {
            const r = await stint.getResult(h.id);
            assert.equal(r.queue, queues[i]);
            assert.deepEqual(r.payload, { s: nasty });
          }
          assert.equal((await stint.getResult(single.id)).queue, 'q"\\');
          await stint.start({ mode: "async" });
          for (const h of [...handles, single]) {
            const r = await waitForStatus(stint, h.id, ["succeeded", "failed"], 5000);
            assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            assert.deepEqual(r.returnValue, { back: nasty });
          }
        });
      });
    });

    describe("enqueueAll", () => {
      test("inserts many jobs in one call with distinct ids, all visible", () =>
        withStint(target, { tasks: [email, plain] }, async (stint) => {
          const items = Array.from({ length: 1200 }, (_, i) => ({
            task: i % 2 === 0 ? email : "plain",
            payload: { to: `u${i}` },
            options: i % 3 === 0 ? { queue: "bulk" } : undefined,
          }));
          const handles = await stint.enqueueAll(items);
          assert.equal(handles.length, 1200);
          assert.equal(new Set(handles.map((h) => h.id)).size, 1200);
          assert.ok(handles.every((h) => h.status === "ready"));
          const bulk = items.filter((_, i) => i % 3 === 0).length;
          const mail = items.filter((_, i) => i % 3 !== 0 && i % 2 === 0).length;
          assert.equal(await stint.queue("bulk").size(), bulk);
          assert.equal(await stint.queue("mail").size(), mail);
          assert.equal(await stint.queue("default").size(), 1200 - bulk - mail);
          const last = await stint.getResult(handles[1199].id);
          assert.equal(last.task, "plain");
          assert.deepEqual(last.payload, { to: "u1199" });
        }));

      test("mixes ready and scheduled items", () =>
        withStint(target, {}, async (stint) => {
          const handles = await stint.enqueueAll([
            { task: "a", payload: 1 },
            { task: "b", payload: 2, options: { delay: "1h" } },
          ]);
          assert.deepEqual(handles.map((h) => h.status), ["ready", "scheduled"]);
          assert.equal((await stint.getResult(handles[1].id)).status, "scheduled");
        }));

      test("a batch of one task, queue, priority and due time keeps each job's own payload and id", () =>
        withStint(target, { tasks: [email, plain] }, async (stint) => {
          const runAt = new Date(Date.now() + 3_600_000);
          const items = Array.from({ length: 50 }, (_, i) => ({
            task: email,
            payload: { to: `u${i}@example.com` },
            options: { runAt, priority: -3, queue: "later" },
          }));
          const handles = await stint.enqueueAll(items);
          assert.equal(new Set(handles.map((h) => h.id)).size, 50);
          for (const [i, h] of handles.entries()) {
            assert.equal(h.status, "scheduled");
            const r = await stint.getResult(h.id);
            assert.deepEqual(r.payload, { to: `u${i}@example.com` });
            assert.equal(r.queue, "later");
            assert.equal(r.priority, -3);
            assert.equal(r.scheduledAt.getTime(), runAt.getTime());
          }
          // A batch differing in one field only goes through the mixed path, with every field its own.
          const mixed = await stint.enqueueAll([
            { task: email, payload: { to: "a" }, options: { priority: 1 } },
            { task: email, payload: { to: "b" }, options: { priority: 2 } },
          ]);
          assert.deepEqual((await Promise.all(mixed.map((h) => stint.getResult(h.id)))).map((r) => r.priority), [1, 2]);
        }));

      test("an empty list writes nothing and returns []", () =>
        withStint(target, {}, async (stint) => {
          assert.deepEqual(await stint.enqueueAll([]), []);
          await assertNothingWritten(stint);
        }));

      test("one bad item is an EnqueueError naming its index, and none are written", () =>
        withStint(target, { tasks: [email, plain] }, async (stint) => {
          const good = { task: email, payload: { to: "x" } };
          await rejectsEnqueue(
            () => stint.enqueueAll([good, good, { task: "plain", payload: { d: new Date() } }, good]),
            /items\[2\].*payload\.d is a Date/,
          );
          await rejectsEnqueue(
            () => stint.enqueueAll([good, { task: "nope", payload: 1 }]),
            /items\[1\].*unknown task/,
          );
          await rejectsEnqueue(
            () => stint.enqueueAll([good, { task: email, options: { priority: 500 } }]),
            /items\[1\]/,
          );
          await rejectsEnqueue(() => stint.enqueueAll([good, null as unknown as typeof good]), /items\[1\]/);
          await rejectsEnqueue(() => stint.enqueueAll("x" as unknown as []), /array/);
          await assertNothingWritten(stint);
        }));
    });

    describe("getResult", () => {
      test("reports every field of a waiting job", () =>
        withStint(target, {}, async (stint) => {
          const before = Date.now();
          const { id } = await stint.enqueue("report", { n: [1, "two"] }, { queue: "reports", priority: 3 });
          const after = Date.now();
          const r = await stint.getResult(id);
          assert.equal(r.id, id);
          assert.equal(r.task, "report");
          assert.equal(r.queue, "reports");
          assert.equal(r.priority, 3);
          assert.equal(r.status, "ready");
          assert.deepEqual(r.payload, { n: [1, "two"] });
          assert.equal(r.returnValue, null);
          assert.equal(r.error, null);
          assert.deepEqual(r.errors, []);
          assert.equal(r.attempts, 0);
          assert.ok(r.enqueuedAt instanceof Date);
          assert.ok(
            r.enqueuedAt.getTime() >= before && r.enqueuedAt.getTime() <= after,
            "enqueuedAt is the enqueue time",
          );
          assert.ok(r.scheduledAt instanceof Date);
          assert.ok(r.scheduledAt.getTime() >= before && r.scheduledAt.getTime() <= after, "due at once");
          assert.equal(r.startedAt, null);
          assert.equal(r.finishedAt, null);
        }));

      test("an unknown id or a non-UUID is a JobNotFoundError", () =>
        withStint(target, {}, async (stint) => {
          for (const id of [crypto.randomUUID(), "not-a-uuid", "", "123", 42 as unknown as string]) {
            await assert.rejects(() => stint.getResult(id), (error: unknown) => {
              assert.ok(error instanceof JobNotFoundError, `expected JobNotFoundError for ${String(id)}, got ${error}`);
              assert.equal(error.code, "JOB_NOT_FOUND");
              return true;
            });
          }
        }));
    });
  });
}
