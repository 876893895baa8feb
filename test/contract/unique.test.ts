/**
 * Unique jobs (DESIGN §11): enqueue's `key` and `onDuplicate`, in enqueue,
 * enqueueAll, the edge client, retryJob/retryAll and enqueueAgain, and
 * concurrent enqueues of one key from two processes, against every target.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import postgres from "postgres";
import { createClient } from "../../client.ts";
import { defineTask, EnqueueError, KeyTakenError, type Stint } from "../../mod.ts";
import { scenarioTargets, targetsWithEngine } from "../support/targets.ts";
import { uniqueBackend, uniqueName, withDatabase, withStint, withStintAt } from "../support/harness.ts";
import { claim, failQueue, registerProcess } from "../support/driver.ts";
import { withRaw } from "../support/raw.ts";
import { insertRows, row } from "../support/rows.ts";
import { mount } from "../hono/support.ts";
import { startChild } from "../support/child.ts";

const HOUR = 3_600_000;
const FIXTURE = new URL("../fixtures/enqueue-keys.ts", import.meta.url).pathname;
const isDeno = "Deno" in globalThis;

/** Semaphores are database-wide: each test gets its own concurrency key. */
const limitedTask = () => defineTask("limited", () => null, { concurrency: { key: uniqueName("acct"), limit: 1 } });
const once = defineTask("once", () => null, { delivery: "at-most-once" });

/** Jobs of the instance's backend (every status), by stint.jobs(). */
async function jobCount(stint: Stint): Promise<number> {
  return (await stint.jobs({ limit: 1000 })).length;
}

async function rejectsEnqueue(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(error instanceof EnqueueError, `expected EnqueueError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

const children: Array<ReturnType<typeof startChild>> = [];
after(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill("SIGKILL");
});

for (const target of scenarioTargets(targetsWithEngine)) {
  describe(target.name, { skip: target.skip }, () => {
    test("skip: a second enqueue of a waiting key writes nothing and returns the first job", () =>
      withStint(target, {}, async (stint) => {
        const first = await stint.enqueue("digest", { n: 1 }, { key: "digest:1" });
        assert.deepEqual(first, { id: first.id, status: "ready", duplicate: false });
        const again = await stint.enqueue("digest", { n: 2 }, { key: "digest:1", onDuplicate: "skip" });
        assert.deepEqual(again, { id: first.id, status: "ready", duplicate: true });
        const other = await stint.enqueue("digest", { n: 3 }, { key: "digest:2" });
        assert.equal(other.duplicate, false);
        const plain = await stint.enqueue("digest", { n: 4 });
        assert.equal(plain.duplicate, false);
        assert.equal(await jobCount(stint), 3);
        const result = await stint.getResult(first.id);
        assert.equal(result.key, "digest:1");
        assert.deepEqual(result.payload, { n: 1 });
        assert.equal((await stint.getResult(plain.id)).key, null);
      }));

    test("replace: the waiting job's payload, priority and run time change, between ready and scheduled", () =>
      withStint(target, {}, async (stint) => {
        const first = await stint.enqueue("digest", { v: 1 }, { key: "k" });
        const later = await stint.enqueue("digest", { v: 2 }, {
          key: "k",
          onDuplicate: "replace",
          priority: 5,
          delay: "1h",
        });
        assert.deepEqual(later, { id: first.id, status: "scheduled", duplicate: true });
        let result = await stint.getResult(first.id);
        assert.equal(result.status, "scheduled");
        assert.deepEqual(result.payload, { v: 2 });
        assert.equal(result.priority, 5);
        assert.ok(result.scheduledAt.getTime() > Date.now() + HOUR / 2);
        // A debounce: every replace pushes the run time on.
        const pushed = await stint.enqueue("digest", { v: 3 }, { key: "k", onDuplicate: "replace", delay: "2h" });
        assert.deepEqual(pushed, { id: first.id, status: "scheduled", duplicate: true });
        assert.ok((await stint.getResult(first.id)).scheduledAt.getTime() > Date.now() + HOUR);
        const now = await stint.enqueue("digest", { v: 4 }, { key: "k", onDuplicate: "replace" });
        assert.deepEqual(now, { id: first.id, status: "ready", duplicate: true });
        result = await stint.getResult(first.id);
        assert.deepEqual(result.payload, { v: 4 });
        assert.equal(result.priority, 0);
        assert.equal(await jobCount(stint), 1);
        // It is claimable, once, with the replaced payload.
        const processId = await registerProcess(stint);
        const claimed = await claim(stint, processId, ["default"], 10);
        assert.deepEqual(claimed.map((j) => [j.id, JSON.parse(j.payload)]), [[first.id, { v: 4 }]]);
      }));

    test("a running job's key: skip returns it, replace writes a new waiting job", () =>
      withStint(target, {}, async (stint) => {
        const first = await stint.enqueue("digest", { v: 1 }, { key: "k" });
        const processId = await registerProcess(stint);
        assert.equal((await claim(stint, processId, ["default"], 1)).length, 1);
        const skipped = await stint.enqueue("digest", { v: 2 }, { key: "k" });
        assert.deepEqual(skipped, { id: first.id, status: "running", duplicate: true });
        const fresh = await stint.enqueue("digest", { v: 3 }, { key: "k", onDuplicate: "replace", delay: "1h" });
        assert.equal(fresh.duplicate, false);
        assert.notEqual(fresh.id, first.id);
        assert.equal(fresh.status, "scheduled");
        // The new job holds the key now.
        const again = await stint.enqueue("digest", { v: 4 }, { key: "k" });
        assert.deepEqual(again, { id: fresh.id, status: "scheduled", duplicate: true });
        assert.equal(await jobCount(stint), 2);
        assert.equal((await stint.getResult(first.id)).status, "running");
      }));

    test("replace through the concurrency gate: a job moved later gives its slot back, moved to now it takes one", () => {
      const limited = limitedTask();
      return withStint(target, { tasks: [limited] }, async (stint) => {
        const k = await stint.enqueue(limited, { v: 1 }, { key: "k" });
        assert.equal(k.status, "ready");
        const other = await stint.enqueue(limited, { v: 2 });
        assert.equal(other.status, "blocked");
        const later = await stint.enqueue(limited, { v: 3 }, { key: "k", onDuplicate: "replace", delay: "1h" });
        assert.deepEqual(later, { id: k.id, status: "scheduled", duplicate: true });
        // Its slot went to the job blocked behind it.
        assert.equal((await stint.getResult(other.id)).status, "ready");
        const now = await stint.enqueue(limited, { v: 4 }, { key: "k", onDuplicate: "replace", priority: 9 });
        assert.deepEqual(now, { id: k.id, status: "blocked", duplicate: true });
        const blocked = await stint.enqueue(limited, { v: 5 }, { key: "k", onDuplicate: "replace", priority: 2 });
        assert.deepEqual(blocked, { id: k.id, status: "blocked", duplicate: true });
        const result = await stint.getResult(k.id);
        assert.equal(result.priority, 2);
        assert.deepEqual(result.payload, { v: 5 });
        const back = await stint.enqueue(limited, { v: 6 }, { key: "k", onDuplicate: "replace", delay: "1h" });
        assert.deepEqual(back, { id: k.id, status: "scheduled", duplicate: true });
        assert.equal(await jobCount(stint), 2);
      });
    });

    test("a parent waiting for its children has started: skip returns it, replace writes a new job and leaves it be", () =>
      withStint(target, {}, async (stint) => {
        const [parent] = await insertRows(stint, [row("parent", { v: 1 }, { queue: "wq", key: "p" })]);
        const [child] = await insertRows(stint, [
          row("child", {}, { queue: "wq", parentId: parent, scheduledAt: new Date(Date.now() + HOUR) }),
        ]);
        const processId = await registerProcess(stint);
        const [claimed] = await claim(stint, processId, ["wq"], 1);
        await stint.driver.jobFinishMany({
          backend: stint.backend,
          processId,
          outcomes: [{ id: parent, kind: "wait", children: [child], claim: claimed.claim }],
          preserveFinished: true,
          now: new Date(),
        });
        const scheduledAt = (await stint.getResult(parent)).scheduledAt;
        assert.deepEqual(await stint.enqueue("parent", { v: 2 }, { key: "p" }), {
          id: parent,
          status: "waiting",
          duplicate: true,
        });
        const replaced = await stint.enqueue("parent", { v: 3 }, {
          key: "p",
          onDuplicate: "replace",
          delay: "5h",
          priority: 4,
        });
        assert.equal(replaced.duplicate, false);
        assert.notEqual(replaced.id, parent);
        assert.equal(replaced.status, "scheduled");
        const result = await stint.getResult(parent);
        assert.deepEqual([result.status, result.payload, result.priority], ["waiting", { v: 1 }, 0]);
        assert.equal(result.scheduledAt.getTime(), scheduledAt.getTime());
        assert.equal((await stint.getResult(replaced.id)).key, "p", "the new job holds the key");
      }));

    test("delivery and the key are stored on insert, by every path", () =>
      withStint(target, { tasks: [once, limitedTask()] }, async (stint) => {
        const single = await stint.enqueue(once, {});
        const [a, b, c] = await stint.enqueueAll([{ task: once }, { task: "limited" }, {
          task: once,
          options: { key: "x" },
        }]);
        const read = async (id: string) => {
          const r = await stint.driver.jobGet({ backend: stint.backend, id });
          return [r!.delivery ?? null, r!.key ?? null];
        };
        assert.deepEqual(await read(single.id), ["at-most-once", null]);
        assert.deepEqual(await read(a.id), ["at-most-once", null]);
        assert.deepEqual(await read(b.id), [null, null]);
        assert.deepEqual(await read(c.id), ["at-most-once", "x"]);
        const [d] = await stint.enqueueAll([{ task: once }, { task: once, options: { delay: "1h" } }]);
        assert.deepEqual(await read(d.id), ["at-most-once", null]);
      }));

    test("a finished job holds no key", () =>
      withStint(target, {}, async (stint) => {
        const first = await stint.enqueue("digest", {}, { key: "k", queue: "q1" });
        await failQueue(stint, "q1");
        const second = await stint.enqueue("digest", {}, { key: "k", queue: "q1" });
        assert.equal(second.duplicate, false);
        await stint.cancel(second.id);
        const third = await stint.enqueue("digest", {}, { key: "k", onDuplicate: "replace" });
        assert.equal(third.duplicate, false);
        assert.equal((await stint.getResult(first.id)).status, "failed");
        assert.equal((await stint.getResult(second.id)).status, "cancelled");
      }));

    test("retention deletes a pruned job's key row; a key taken over stays with its new job", () =>
      withDatabase(target, async (url) => {
        await withStintAt(url, {}, async (stint) => {
          const a = await stint.enqueue("digest", {}, { key: "a" });
          const b = await stint.enqueue("digest", {}, { key: "b" });
          await stint.cancel(a.id);
          await stint.cancel(b.id);
          const b2 = await stint.enqueue("digest", {}, { key: "b" });
          await new Promise((r) => setTimeout(r, 5));
          await stint.prune({ finishedOlderThan: 0 });
          const keys = await withRaw(
            target,
            url,
            (raw) =>
              raw.rows(`SELECT unique_key, job_id FROM stint_job_keys WHERE backend = ? ORDER BY unique_key`, [
                stint.backend,
              ]),
          );
          assert.deepEqual(keys.map((r) => [String(r.unique_key), String(r.job_id)]), [["b", b2.id]]);
          assert.equal((await stint.enqueue("digest", {}, { key: "a" })).duplicate, false);
          assert.equal((await stint.enqueue("digest", {}, { key: "b" })).duplicate, true);
        });
      }));

    test("enqueueAll applies its items in order: a later item meets an earlier one", () =>
      withStint(target, {}, async (stint) => {
        const handles = await stint.enqueueAll([
          { task: "digest", payload: { v: 1 }, options: { key: "a" } },
          { task: "digest", payload: { v: 2 }, options: { key: "a", onDuplicate: "replace", delay: "1h" } },
          { task: "digest", payload: { v: 3 }, options: { key: "a" } },
          { task: "digest", payload: { v: 4 } },
          { task: "digest", payload: { v: 5 }, options: { key: "b", onDuplicate: "replace" } },
        ]);
        const [a] = handles;
        assert.deepEqual(handles.map((h) => [h.id === a.id, h.status, h.duplicate]), [
          [true, "scheduled", false],
          [true, "scheduled", true],
          [true, "scheduled", true],
          [false, "ready", false],
          [false, "ready", false],
        ]);
        assert.deepEqual((await stint.getResult(a.id)).payload, { v: 2 });
        assert.equal(await jobCount(stint), 3);
        // And a later batch meets the stored ones.
        const next = await stint.enqueueAll([{
          task: "digest",
          payload: { v: 6 },
          options: { key: "a", onDuplicate: "replace" },
        }]);
        assert.deepEqual(next, [{ id: a.id, status: "ready", duplicate: true }]);
      }));

    test("bad keys and onDuplicate values are EnqueueErrors, and nothing is written", () =>
      withStint(target, {}, async (stint) => {
        await stint.enqueue("digest", {}, { key: "taken" });
        const bad: Array<[Record<string, unknown>, RegExp]> = [
          [{ key: "" }, /key must be a non-empty string of at most 255/],
          [{ key: "x".repeat(256) }, /at most 255/],
          [{ key: 7 }, /key must be/],
          [{ key: " padded" }, /surrounding spaces/],
          [{ key: "nul\u0000" }, /NUL/],
          [{ key: "half\ud800" }, /lone surrogate/],
          [{ key: "taken", onDuplicate: "merge" }, /onDuplicate must be "skip" or "replace"/],
          [{ onDuplicate: "skip" }, /onDuplicate needs a key/],
        ];
        for (const [options, pattern] of bad) await rejectsEnqueue(() => stint.enqueue("digest", {}, options), pattern);
        await rejectsEnqueue(
          () =>
            stint.enqueueAll([
              { task: "digest", options: { key: "fresh" } },
              { task: "digest", options: { key: "taken", onDuplicate: "replace", priority: 3 } },
              { task: "digest", options: { key: "" } },
            ]),
          /items\[2\]: key/,
        );
        assert.equal(await jobCount(stint), 1);
        // The longest key is fine.
        assert.equal((await stint.enqueue("digest", {}, { key: "é".repeat(255) })).duplicate, false);
        assert.equal((await stint.enqueue("digest", {}, { key: "é".repeat(255) })).duplicate, true);
      }));

    test("retryJob takes the key back unless another job holds it; retryAll skips those", () => {
      const warnings: string[] = [];
      const logger = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
      return withStint(target, { logger }, async (stint) => {
        const a = await stint.enqueue("digest", { v: "a" }, { key: "k", queue: "q1" });
        const c = await stint.enqueue("digest", { v: "c" }, { key: "other", queue: "q1" });
        await failQueue(stint, "q1");
        const b = await stint.enqueue("digest", { v: "b" }, { key: "k", queue: "q2" });
        await assert.rejects(() => stint.retryJob(a.id), (error: unknown) => {
          assert.ok(error instanceof KeyTakenError);
          assert.equal(error.key, "k");
          assert.equal(error.holderId, b.id);
          return true;
        });
        assert.equal((await stint.getResult(a.id)).status, "failed");
        // retryAll retries the free one and leaves a failed.
        assert.equal(await stint.retryAll(), 1);
        assert.deepEqual(warnings, ["retryAll: 1 failed job(s) not retried: another job holds their key"]);
        assert.equal((await stint.getResult(a.id)).status, "failed");
        assert.equal((await stint.getResult(c.id)).status, "ready");
        // Once b has ended, a takes its key back: a new enqueue meets a.
        await stint.cancel(b.id);
        assert.deepEqual(await stint.retryJob(a.id), { id: a.id, status: "ready", duplicate: false });
        assert.deepEqual(await stint.enqueue("digest", {}, { key: "k" }), {
          id: a.id,
          status: "ready",
          duplicate: true,
        });
      });
    });

    test("enqueueAgain copies the key with skip", () =>
      withStint(target, {}, async (stint) => {
        const a = await stint.enqueue("digest", { v: 1 }, { key: "k" });
        assert.deepEqual(await stint.enqueueAgain(a.id), { id: a.id, status: "ready", duplicate: true });
        await stint.cancel(a.id);
        const copy = await stint.enqueueAgain(a.id);
        assert.equal(copy.duplicate, false);
        assert.notEqual(copy.id, a.id);
        const result = await stint.getResult(copy.id);
        assert.equal(result.key, "k");
        assert.deepEqual(result.payload, { v: 1 });
      }));

    test("a key in the caller's transaction: taken inside it, free again after a rollback", {
      skip: target.dialect === "postgres"
        ? undefined
        : "a postgres.js transaction (PostgreSQL's single-statement path for one keyed job)",
    }, () =>
      withDatabase(target, async (url) => {
        await withStintAt(url, {}, async (stint) => {
          const sql = postgres(url, { max: 1, onnotice: () => {} });
          let inside: Array<{ id: string; duplicate: boolean }> = [];
          try {
            await assert.rejects(() =>
              sql.begin(async (tx) => {
                inside = [
                  await stint.enqueue("digest", {}, { key: "k", tx }),
                  await stint.enqueue("digest", {}, { key: "k", tx }),
                ];
                throw new Error("roll back");
              }), /roll back/);
          } finally {
            await sql.end();
          }
          assert.deepEqual(inside.map((h) => h.duplicate), [false, true]);
          assert.equal(inside[1].id, inside[0].id);
          assert.equal(await jobCount(stint), 0);
          assert.equal((await stint.enqueue("digest", {}, { key: "k" })).duplicate, false);
        });
      }));

    test("the dashboard's job page shows the key", () =>
      withStint(target, {}, async (stint) => {
        const { id } = await stint.enqueue("digest", {}, { key: `<b>"k"` });
        const html = await mount(stint).html(`/jobs/${id}`);
        assert.ok(html.includes("<tr><td>key</td><td>&lt;b&gt;&quot;k&quot;</td></tr>"), html);
      }));

    test("the edge client takes key and onDuplicate", () =>
      withDatabase(target, async (url) => {
        const backend = uniqueBackend();
        await withStintAt(url, { backend }, async () => {});
        const client = await createClient({ url, backend });
        try {
          const first = await client.enqueue("digest", { v: 1 }, { key: "k" });
          const again = await client.enqueue("digest", { v: 2 }, { key: "k", onDuplicate: "replace" });
          assert.deepEqual(again, { id: first.id, status: "ready", duplicate: true });
          const all = await client.enqueueAll([{ task: "digest", options: { key: "k" } }, { task: "digest" }]);
          assert.deepEqual(all.map((h) => h.duplicate), [true, false]);
          assert.deepEqual((await client.getResult(first.id)).payload, { v: 2 });
          await rejectsEnqueue(
            () => client.enqueue("digest", {}, { key: "k", onDuplicate: "nope" as "skip" }),
            /onDuplicate/,
          );
        } finally {
          await client.close();
        }
      }));

    test("20 concurrent enqueues of one key from two processes leave exactly one waiting job", () =>
      withDatabase(target, async (url) => {
        const backend = uniqueBackend();
        await withStintAt(url, { backend }, async () => {});
        const goAt = String(Date.now() + 1500);
        const runs = [0, 1].map(() => {
          const args = isDeno ? ["run", "-A", FIXTURE] : [FIXTURE];
          const env = {
            STINT_TEST_URL: url,
            STINT_TEST_BACKEND: backend,
            STINT_TEST_KEY: "shared",
            STINT_TEST_GO_AT: goAt,
          };
          Object.assign(process.env, env);
          const started = startChild(process.cwd(), args);
          children.push(started);
          return started.exited;
        });
        const exits = await Promise.all(runs);
        const handles = exits.flatMap(({ code, out }) => {
          assert.equal(code, 0, out);
          return JSON.parse(/^handles (.*)$/m.exec(out)![1]) as Array<{ id: string; duplicate: boolean }>;
        });
        assert.equal(handles.length, 20);
        assert.equal(new Set(handles.map((h) => h.id)).size, 1, JSON.stringify(handles));
        assert.equal(handles.filter((h) => !h.duplicate).length, 1);
        await withRaw(target, url, async (raw) => {
          const rows = await raw.rows(`SELECT id FROM stint_jobs WHERE backend = ?`, [backend]);
          assert.deepEqual(rows.map((r) => String(r.id)), [handles[0].id]);
          const keys = await raw.rows(`SELECT job_id FROM stint_job_keys WHERE backend = ?`, [backend]);
          assert.deepEqual(keys.map((r) => String(r.job_id)), [handles[0].id]);
        });
      }));
  });
}
