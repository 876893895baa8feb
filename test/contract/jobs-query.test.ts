/**
 * stint.jobs({ task, queue, status, parentId, where, limit, before }) (DESIGN
 * §10): what it refuses (ConfigError, no statement), what each filter selects,
 * `where` matching top-level payload fields by JSON equality, and the current
 * workspace instead of the payload for a multi-step job. Multi-step rows and
 * children are written through the driver (jobInsertMany with step and
 * parentId, an `advance` outcome), as the runtime writes them.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, type Stint } from "../../mod.ts";
import { createClient } from "../../client.ts";
import { targets } from "../support/targets.ts";
import { withDatabase, withStint, withStintAt } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { insertRows as insert, row, stepText as step, waitingParent } from "../support/rows.ts";

/** The ids `jobs(options)` returns, in its order. */
async function ids(stint: Stint, options: Parameters<Stint["jobs"]>[0]): Promise<string[]> {
  return (await stint.jobs(options)).map((j) => j.id);
}

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    test("bad options are a ConfigError naming the value; nothing is read", () =>
      withStint(target, {}, async (stint) => {
        const manyFields = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}`, i]));
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        const cases: Array<[string, unknown, RegExp]> = [
          ["null options", null, /jobs options must be an object/],
          ["an array", [], /jobs options must be an object/],
          ["an unknown key", { limt: 5 }, /unknown option "limt"/],
          ["limit 0", { limit: 0 }, /jobs limit: 0/],
          ["limit 1001", { limit: 1001 }, /jobs limit: 1001/],
          ["limit 1.5", { limit: 1.5 }, /jobs limit/],
          ["limit '5'", { limit: "5" }, /jobs limit/],
          ["limit NaN", { limit: NaN }, /jobs limit: NaN/],
          ["an unknown status", { status: "nope" }, /"nope" is not a job status/],
          ["an empty task", { task: "" }, /jobs task/],
          ["a task of 201 characters", { task: "t".repeat(201) }, /jobs task/],
          ["a queue with NUL", { queue: "q\0" }, /jobs queue/],
          ["a parentId that is no job id", { parentId: "x" }, /jobs parentId: "x" is not a job id/],
          ["a before that is no job id", { before: 7 }, /jobs before: 7 is not a job id/],
          ["where null", { where: null }, /jobs where must be an object/],
          ["where an array", { where: [1] }, /jobs where must be an object/],
          ["where a string", { where: "userId = 7" }, /jobs where must be an object/],
          ["where a Map", { where: new Map([["a", 1]]) }, /plain object/],
          ["where with a symbol key", { where: { [Symbol("s")]: 1 } }, /plain object/],
          ["21 fields", { where: manyFields }, /21 fields is too many \(at most 20\)/],
          ["an empty field name", { where: { "": 1 } }, /field name "" is not valid/],
          ["a field name of 201 characters", { where: { ["f".repeat(201)]: 1 } }, /field name/],
          ["a field name with NUL", { where: { "a\0b": 1 } }, /field name/],
          ["an undefined value", { where: { a: undefined } }, /where\["a"\] is undefined/],
          ["a NaN value", { where: { a: NaN } }, /where\["a"\] is NaN/],
          ["a BigInt value", { where: { a: 1n } }, /BigInt/],
          ["a function value", { where: { a: () => 1 } }, /function/],
          ["a Date value", { where: { a: new Date() } }, /Date/],
          ["a circular value", { where: { a: circular } }, /circular/],
        ];
        for (const [what, options, message] of cases) {
          await assert.rejects(() => stint.jobs(options as never), (error: unknown) => {
            assert.ok(error instanceof ConfigError, `${what}: ${error}`);
            assert.match(error.message, message, what);
            return true;
          });
        }
        // The limits themselves are fine.
        const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, i]));
        assert.deepEqual(await stint.jobs({ where: twenty, limit: 1000 }), []);
        assert.deepEqual(await stint.jobs({ where: { ["f".repeat(200)]: 1 }, limit: 1 }), []);
        assert.deepEqual(await stint.jobs(), []);
        assert.deepEqual(await stint.jobs({ status: "waiting" }), []);
        assert.deepEqual(await stint.listJobs("waiting"), [], "listJobs knows the status waiting too");
      }));

    test("every filter given must hold; newest first; limit and before page", () =>
      withStint(target, {}, async (stint) => {
        const a1 = (await stint.enqueue("a", { userId: 7 }, { queue: "q1" })).id;
        const b1 = (await stint.enqueue("b", { userId: 7 }, { queue: "q1" })).id;
        const a2 = (await stint.enqueue("a", { userId: 8 }, { queue: "q2" })).id;
        const a3 = (await stint.enqueue("a", { userId: 7 }, { queue: "q2", delay: "1h" })).id;
        assert.deepEqual(await ids(stint, {}), [a3, a2, b1, a1], "no filter: every job of the backend, newest first");
        assert.deepEqual(await ids(stint, { task: "a" }), [a3, a2, a1]);
        assert.deepEqual(await ids(stint, { queue: "q1" }), [b1, a1]);
        assert.deepEqual(await ids(stint, { status: "scheduled" }), [a3]);
        assert.deepEqual(await ids(stint, { status: "ready", task: "a" }), [a2, a1]);
        assert.deepEqual(await ids(stint, { task: "a", queue: "q2", where: { userId: 7 } }), [a3]);
        assert.deepEqual(await ids(stint, { task: "nobody" }), []);
        assert.deepEqual(await ids(stint, { limit: 2 }), [a3, a2]);
        assert.deepEqual(await ids(stint, { limit: 2, before: a2 }), [b1, a1]);
        assert.deepEqual(await ids(stint, { where: { userId: 7 }, before: a3 }), [b1, a1]);
        const [summary] = await stint.jobs({ task: "b" });
        assert.deepEqual(
          [summary.id, summary.task, summary.queue, summary.status, summary.parentId],
          [b1, "b", "q1", "ready", null],
        );
      }));

    test("where matches top-level payload fields by JSON equality, each field given", () =>
      withStint(target, {}, async (stint) => {
        const add = async (payload: unknown) => (await stint.enqueue("t", payload)).id;
        const num7 = await add({ userId: 7, plan: "pro", flag: true });
        const str7 = await add({ userId: "7", plan: "pro" });
        const num8 = await add({ userId: 8, plan: "free", flag: 1 });
        const nullId = await add({ userId: null, tags: ["a", "b"], meta: { x: 1, y: [2] } });
        const quoted = await add({ name: `O'Brien "q" \\ ü 😀`, "a.b": 1, a: { b: 2 } });
        const noField = await add({ other: 1 });
        const notObject = await add([7]);
        const nothing = await add(null);
        assert.deepEqual(await ids(stint, { where: { userId: 7 } }), [num7], "the number 7, not the string");
        assert.deepEqual(await ids(stint, { where: { userId: "7" } }), [str7]);
        assert.deepEqual(await ids(stint, { where: { plan: "pro" } }), [str7, num7]);
        assert.deepEqual(await ids(stint, { where: { plan: "pro", userId: 7 } }), [num7], "every field must match");
        assert.deepEqual(await ids(stint, { where: { plan: "free", userId: 7 } }), []);
        assert.deepEqual(await ids(stint, { where: { flag: true } }), [num7], "true is not 1");
        assert.deepEqual(await ids(stint, { where: { flag: 1 } }), [num8], "1 is not true");
        assert.deepEqual(await ids(stint, { where: { userId: null } }), [nullId], "null matches null, not a missing field");
        assert.deepEqual(await ids(stint, { where: { tags: ["a", "b"] } }), [nullId]);
        assert.deepEqual(await ids(stint, { where: { tags: ["b", "a"] } }), [], "arrays are ordered");
        assert.deepEqual(await ids(stint, { where: { tags: "a" } }), [], "an array does not match its element");
        assert.deepEqual(await ids(stint, { where: { meta: { x: 1, y: [2] } } }), [nullId]);
        assert.deepEqual(await ids(stint, { where: { name: `O'Brien "q" \\ ü 😀` } }), [quoted]);
        assert.deepEqual(await ids(stint, { where: { "a.b": 1 } }), [quoted], "a field name is one top-level key");
        assert.deepEqual(await ids(stint, { where: { "a.b": 2 } }), [], "not a path into a nested object");
        assert.deepEqual(await ids(stint, { where: { other: 1 } }), [noField]);
        assert.deepEqual(await ids(stint, { where: { 0: 7 } }), [], "an array payload has no fields");
        assert.deepEqual(await ids(stint, {}), [nothing, notObject, noField, quoted, nullId, num8, str7, num7]);
        assert.deepEqual(await ids(stint, { where: {} }), await ids(stint, {}), "an empty where selects everything");
      }));

    // SQLite has no JSON equality for containers: json-where.ts compares nested objects as their compact text.
    const keyOrderSkip = target.dialect === "libsql" ? "SQLite compares nested objects as text: key order counts" : undefined;
    test("objects in where match regardless of key order (JSON equality)", { skip: keyOrderSkip }, () =>
      withStint(target, {}, async (stint) => {
        const { id } = await stint.enqueue("t", { meta: { x: 1, y: 2 } });
        assert.deepEqual(await ids(stint, { where: { meta: { y: 2, x: 1 } } }), [id]);
        assert.deepEqual(await ids(stint, { where: { meta: { x: 1 } } }), [], "a part of an object is not the object");
      }));

    test("a multi-step job is matched by its current workspace, the payload until a step completed", () =>
      withStint(target, {}, async (stint) => {
        const [id] = await insert(stint, [row("import", { importId: 42 }, { step: step(0, "download", 2) })]);
        const single = (await stint.enqueue("t", { importId: 42 })).id;
        assert.deepEqual(await ids(stint, { where: { importId: 42 } }), [single, id], "before any step: the payload");
        const before = await stint.getResult(id);
        assert.deepEqual(before.workspace, { importId: 42 }, "the workspace starts as the payload");
        assert.deepEqual(before.step, { index: 0, name: "download", count: 2 });
        assert.equal(before.parentId, null);

        const processId = await registerProcess(stint);
        const [claimed] = await claim(stint, processId, ["default"], 1);
        assert.equal(claimed.id, id, "the multi-step job is the older one");
        const applied = await stint.driver.jobFinishMany({
          backend: stint.backend,
          processId,
          outcomes: [{
            id,
            kind: "advance",
            workspace: JSON.stringify({ importId: 43, rows: 3 }),
            step: step(1, "store", 2),
            claim: claimed.claim,
          }],
          preserveFinished: true,
          now: new Date(),
        });
        assert.deepEqual(applied, [id]);
        assert.deepEqual(await ids(stint, { where: { rows: 3 } }), [id], "a field only the workspace has");
        assert.deepEqual(await ids(stint, { where: { importId: 43 } }), [id]);
        assert.deepEqual(await ids(stint, { where: { importId: 42 } }), [single], "the payload no longer counts");
        const after = await stint.getResult(id);
        assert.deepEqual(after.payload, { importId: 42 }, "the payload is kept as enqueued");
        assert.deepEqual(after.workspace, { importId: 43, rows: 3 });
        assert.deepEqual(after.step, { index: 1, name: "store", count: 2 });
        assert.equal(after.status, "ready");
        const plain = await stint.getResult(single);
        assert.deepEqual([plain.workspace, plain.step, plain.parentId], [null, null, null]);
      }));

    test("parentId selects a job's children; each knows its parent", () =>
      withStint(target, {}, async (stint) => {
        const parent = (await stint.enqueue("parent", { n: 0 })).id;
        const other = (await stint.enqueue("parent", { n: 10 })).id;
        const [c1, c2, o1] = await insert(stint, [
          row("child", { n: 1 }, { parentId: parent }),
          row("child", { n: 2 }, { parentId: parent, queue: "kids" }),
          row("child", { n: 1 }, { parentId: other }),
        ]);
        assert.deepEqual(await ids(stint, { parentId: parent }), [c2, c1]);
        assert.deepEqual(await ids(stint, { parentId: other }), [o1]);
        assert.deepEqual(await ids(stint, { parentId: parent, where: { n: 1 } }), [c1]);
        assert.deepEqual(await ids(stint, { parentId: parent, queue: "kids" }), [c2]);
        assert.deepEqual(await ids(stint, { parentId: c1 }), [], "a job without children");
        assert.deepEqual(await ids(stint, { where: { n: 1 } }), [o1, c1], "children are jobs like any other");
        assert.equal((await stint.getResult(c2)).parentId, parent);
        assert.equal((await stint.getResult(parent)).parentId, null);
        const summaries = await stint.jobs({ task: "child" });
        assert.deepEqual(summaries.map((s) => s.parentId), [other, parent, parent]);
      }));

    test("status waiting selects the parents suspended in a join, and listJobs does too", () =>
      withStint(target, {}, async (stint) => {
        const [parent, child] = await waitingParent(stint, "wq");
        await stint.enqueue("t", null, { queue: "wq" });
        assert.deepEqual(await ids(stint, { status: "waiting" }), [parent]);
        assert.deepEqual((await stint.listJobs("waiting")).map((j) => j.id), [parent]);
        assert.deepEqual(await ids(stint, { parentId: parent, status: "scheduled" }), [child]);
        assert.equal((await stint.getResult(parent)).status, "waiting");
      }));

    test("the edge client's jobs() selects and refuses as stint.jobs() does", () =>
      withDatabase(target, (url) =>
        withStintAt(url, {}, async (stint) => {
          const client = await createClient({ url, backend: stint.backend });
          try {
            const { id } = await client.enqueue("t", { userId: 7 }, { queue: "edge" });
            await client.enqueue("t", { userId: 8 }, { queue: "edge" });
            const [job] = await client.jobs({ where: { userId: 7 }, queue: "edge", status: "ready" });
            assert.deepEqual(job, (await stint.jobs({ where: { userId: 7 } }))[0]);
            assert.equal(job.id, id);
            await assert.rejects(() => client.jobs({ where: { a: undefined } }), ConfigError);
            await assert.rejects(() => client.jobs({ lmit: 1 } as never), /unknown option "lmit"/);
          } finally {
            await client.close();
          }
        })));
  });
}
