/**
 * The driver's rows for multi-step jobs (DESIGN §10), through the public
 * Driver (no runtime, no timing): a job's step and parent written at insert
 * and returned by claims, jobGet and jobList; jobList's filters, `where` by
 * JSON equality included; stepSave and stepList; queueList's waiting count;
 * steps deleted with their jobs; retention keeping the children of a parent
 * that has not finished.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stint } from "../../mod.ts";
import type { JobQuery, NewJob } from "../../src/records.ts";
import { newJobId } from "../../src/ids.ts";
import { type Target, targetsWithEngine } from "../support/targets.ts";
import { withDatabase, withStintAt } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";
import { type RawDb, withRaw } from "../support/raw.ts";

const STEP = JSON.stringify({ index: 0, name: "download", count: 2 });

function job(fields: Partial<Omit<NewJob, "payload">> & { payload?: unknown } = {}): NewJob {
  const { payload = {}, ...rest } = fields;
  return {
    id: newJobId(),
    task: "t",
    queue: "q",
    priority: 0,
    scheduledAt: new Date(),
    concurrency: null,
    ...rest,
    payload: JSON.stringify(payload),
  };
}

async function insert(stint: Stint, ...jobs: NewJob[]): Promise<string[]> {
  await stint.driver.jobInsertMany({ backend: stint.backend, jobs, now: new Date() });
  return jobs.map((j) => j.id);
}

async function list(stint: Stint, query: Partial<JobQuery> = {}): Promise<string[]> {
  return (await stint.driver.jobList({ backend: stint.backend, limit: 100, ...query })).map((j) => j.id);
}

async function succeed(stint: Stint, processId: string, ids: string[], now = new Date()): Promise<void> {
  const applied = await stint.driver.jobFinishMany({
    backend: stint.backend,
    processId,
    outcomes: ids.map((id) => ({ id, kind: "succeeded" as const, returnValue: "null" })),
    preserveFinished: true,
    now,
  });
  assert.deepEqual(applied.sort(), [...ids].sort());
}

/** A Stint and a raw connection on one fresh database of the target. */
function withBoth(target: Target, fn: (stint: Stint, raw: RawDb) => Promise<void>): Promise<void> {
  return withDatabase(target, (url) => withStintAt(url, {}, (stint) => withRaw(target, url, (raw) => fn(stint, raw))));
}

/** A parent in ctx.join as the finish will leave it: status waiting, no state row. */
async function makeWaiting(raw: RawDb, id: string): Promise<void> {
  await raw.run(`DELETE FROM stint_ready_executions WHERE job_id = ?`, [id]);
  await raw.run(`UPDATE stint_jobs SET status = 'waiting' WHERE id = ?`, [id]);
}

async function stepRows(raw: RawDb, ids: string[]): Promise<number> {
  const rows = await raw.rows(
    `SELECT COUNT(*) AS n FROM stint_steps WHERE job_id IN (${ids.map(() => "?").join(", ")})`,
    ids,
  );
  return Number(rows[0].n);
}

for (const target of targetsWithEngine) {
  describe(target.name, { skip: target.skip }, () => {
    describe("multi-step rows", () => {
      test("step and parent are written at insert and come back from claims, jobGet and jobList", () =>
        withBoth(target, async (stint) => {
          const { backend, driver } = stint;
          const [parent] = await insert(stint, job({ queue: "p" }));
          const [child, plain] = await insert(stint, job({ parentId: parent, step: STEP }), job());
          // Mixed steps in one batch (PostgreSQL hands those to the engine).
          const other = JSON.stringify({ index: 1, name: "store", count: 2 });
          const [mixedA, mixedB] = await insert(stint, job({ step: other, queue: "m" }), job({ queue: "m" }));
          // One step for a batch that differs otherwise (PostgreSQL's statement takes it as one value).
          const [sameA, sameB] = await insert(stint, job({ step: STEP, priority: 1 }), job({ step: STEP, priority: 2 }));

          const processId = await registerProcess(stint);
          const claimed = new Map((await claim(stint, processId, ["q", "m"], 10)).map((j) => [j.id, j]));
          assert.equal(claimed.size, 6);
          assert.deepEqual(
            [child, plain, mixedA, mixedB, sameA, sameB].map((id) => {
              const j = claimed.get(id)!;
              return [j.step, j.parentId, j.workspace];
            }),
            [
              [STEP, parent, null],
              [null, null, null],
              [other, null, null],
              [null, null, null],
              [STEP, null, null],
              [STEP, null, null],
            ],
          );

          const got = await driver.jobGet({ backend, id: child });
          assert.deepEqual([got?.step, got?.parentId, got?.workspace], [STEP, parent, null]);
          const top = await driver.jobGet({ backend, id: parent });
          assert.deepEqual([top?.step, top?.parentId, top?.workspace], [null, null, null]);
          const [summary] = await driver.jobList({ backend, parentId: parent, limit: 10 });
          assert.deepEqual([summary.id, summary.parentId, summary.status], [child, parent, "running"]);

          // The orphan readers (a pruned process's claims) carry them too.
          const stale = { backend, staleBefore: new Date(0), deadIds: [processId] };
          const { claims } = await driver.processPruneStale(stale);
          const orphan = claims.find((c) => c.id === child);
          assert.deepEqual([orphan?.step, orphan?.parentId], [STEP, parent]);
          const orphans = await driver.claimListOrphaned({ backend });
          assert.deepEqual(orphans.filter((c) => c.id === child).map((c) => [c.step, c.parentId]), [[STEP, parent]]);
        }));

      test("jobList filters by status (running and waiting too), queue, task and parent, newest first", () =>
        withBoth(target, async (stint, raw) => {
          const [ready, later, running, failed, waiting, mail, other] = await insert(
            stint,
            job(),
            job({ scheduledAt: new Date(Date.now() + 3_600_000) }),
            job({ queue: "r" }),
            job({ queue: "f" }),
            job({ queue: "w" }),
            job({ queue: "mail", task: "send" }),
            job({ queue: "mail", task: "other" }),
          );
          const [child] = await insert(stint, job({ queue: "kids", parentId: waiting }));
          const processId = await registerProcess(stint);
          assert.deepEqual((await claim(stint, processId, ["r"], 1)).map((j) => j.id), [running]);
          const [f] = await claim(stint, processId, ["f"], 1);
          await stint.driver.jobFinishMany({
            backend: stint.backend,
            processId,
            outcomes: [{ id: f.id, kind: "failed", error: { name: "E", message: "m", stack: null } }],
            preserveFinished: true,
            now: new Date(),
          });
          await makeWaiting(raw, waiting);

          const all = [ready, later, running, failed, waiting, mail, other, child];
          assert.deepEqual(await list(stint), [...all].sort().reverse(), "any status, newest first");
          assert.deepEqual(await list(stint, { status: "ready" }), [child, other, mail, ready]);
          assert.deepEqual(await list(stint, { status: "scheduled" }), [later]);
          assert.deepEqual(await list(stint, { status: "running" }), [running]);
          assert.deepEqual(await list(stint, { status: "failed" }), [failed]);
          assert.deepEqual(await list(stint, { status: "waiting" }), [waiting]);
          const [w] = await stint.driver.jobList({ backend: stint.backend, status: "waiting", limit: 5 });
          assert.equal(w.status, "waiting");
          assert.deepEqual(await list(stint, { queue: "mail" }), [other, mail]);
          assert.deepEqual(await list(stint, { task: "send" }), [mail]);
          assert.deepEqual(await list(stint, { task: "send", queue: "q" }), []);
          assert.deepEqual(await list(stint, { parentId: waiting }), [child]);
          assert.deepEqual(await list(stint, { parentId: child }), []);
          assert.deepEqual(await list(stint, { status: "ready", queue: "q" }), [ready]);
          assert.deepEqual(await list(stint, { limit: 2 }), [child, other]);
          assert.deepEqual(await list(stint, { before: other, limit: 2 }), [mail, waiting]);

          // A queue with only a waiting job is listed, with its count.
          const queues = new Map((await stint.driver.queueList({ backend: stint.backend })).map((q) => [q.queue, q]));
          assert.deepEqual(
            [queues.get("w")?.waiting, queues.get("w")?.ready, queues.get("r")?.waiting, queues.get("r")?.running],
            [1, 0, 0, 1],
          );
          const [one] = await stint.driver.queueList({ backend: stint.backend, queue: "w" });
          assert.equal(one.waiting, 1);
        }));

      test("where matches top-level fields by JSON equality, of the workspace once there is one", () =>
        withBoth(target, async (stint, raw) => {
          const weird = `we"ird.key`;
          const [a, b, nested, dotted] = await insert(
            stint,
            job({ payload: { s: "x", n: 7, b: true, z: null, o: { a: 1, l: [1, "2"] }, [weird]: "v" } }),
            job({ payload: { s: "y", n: 7.5, b: false, o: { a: 2 }, l: [] } }),
            job({ payload: { inner: { s: "x" }, we: { "ird.key": "v" } } }),
            job({ payload: { "inner.s": "x" } }),
            job({ payload: 7 }),
            job({ payload: ["x"] }),
            job({ task: "other", payload: { s: "x" } }),
          );
          const where = (w: Record<string, unknown>, extra: Partial<JobQuery> = {}) =>
            list(stint, {
              ...extra,
              where: Object.fromEntries(Object.entries(w).map(([k, v]) => [k, JSON.stringify(v)])),
            });
          assert.deepEqual(await where({ s: "x" }, { task: "t" }), [a]);
          assert.equal((await where({ s: "x" })).length, 2, "without the task filter the other task's job matches");
          assert.deepEqual(await where({ s: "y" }), [b]);
          assert.deepEqual(await where({ n: 7 }), [a]);
          assert.deepEqual(await list(stint, { where: { n: "7.0" } }), [a], "numbers compare by value");
          assert.deepEqual(await where({ n: 7.5 }), [b]);
          assert.deepEqual(await where({ n: "7" }), [], "a string is not a number");
          assert.deepEqual(await where({ b: true }), [a]);
          assert.deepEqual(await where({ b: false }), [b]);
          assert.deepEqual(await where({ b: 1 }), [], "a number is not a boolean");
          assert.deepEqual(await where({ z: null }), [a], "null matches a stored null, not a missing field");
          assert.deepEqual(await where({ o: { a: 1, l: [1, "2"] } }), [a]);
          assert.deepEqual(await where({ o: { a: 2 } }), [b]);
          assert.deepEqual(await where({ o: { a: 1 } }), [], "an object equals only the whole object");
          assert.deepEqual(await where({ l: [] }), [b]);
          assert.deepEqual(await where({ [weird]: "v" }), [a], "a name with a quote and a dot is one key");
          assert.deepEqual(await where({ "inner.s": "x" }), [dotted], "a dot is not a path");
          assert.deepEqual(await where({ we: { "ird.key": "v" } }), [nested]);
          assert.deepEqual(await where({ 0: "x" }), [], "an array's elements are not fields");
          assert.deepEqual(await where({ "x' OR '1'='1": "x" }), []);
          assert.deepEqual(await where({ 's") OR 1=1 --': "x" }), []);
          assert.deepEqual(await where({ s: "x", n: 8 }), [], "every field must match");
          assert.deepEqual(await where({ s: "x", n: 7, b: true }, { status: "ready", queue: "q" }), [a]);

          // A job holding \u0000 (which PostgreSQL's jsonb refuses) breaks no query; on PostgreSQL it never matches.
          const [nul] = await insert(stint, job({ payload: { s: "y", t: "a\u0000b" } }));
          assert.deepEqual(await where({ s: "y" }), target.dialect === "postgres" ? [b] : [nul, b]);
          assert.deepEqual(await where({ t: "a\u0000b" }), target.dialect === "postgres" ? [] : [nul]);

          // Workspace beats payload once it is set (the outcome helper writes it; here a direct UPDATE).
          await raw.run(`UPDATE stint_jobs SET workspace = ? WHERE id = ?`, [JSON.stringify({ s: "w", n: 7 }), a]);
          assert.deepEqual(await where({ s: "x" }, { task: "t" }), []);
          assert.deepEqual(await where({ s: "w" }), [a]);
          assert.deepEqual(await where({ b: true }), [], "the payload's fields no longer count");
          const got = await stint.driver.jobGet({ backend: stint.backend, id: a });
          assert.equal(got?.workspace, JSON.stringify({ s: "w", n: 7 }));
        }));

      test("stepSave stores a name once, inserts its child once, and only for the claim's holder", () =>
        withBoth(target, async (stint, raw) => {
          const { backend, driver } = stint;
          const [id] = await insert(stint, job());
          const processId = await registerProcess(stint);
          const [c] = await claim(stint, processId, ["q"], 1);
          type Extra = { child?: NewJob; claim?: typeof c.claim; pid?: string };
          const save = (name: string, value: string, extra: Extra = {}) =>
            driver.stepSave({
              backend,
              processId: extra.pid ?? processId,
              jobId: id,
              claim: extra.claim ?? c.claim,
              name,
              value,
              child: extra.child,
              now: new Date(),
            });
          assert.deepEqual(await driver.stepList({ backend, jobId: id }), new Map());
          assert.equal(await save("a", "1"), "1");
          assert.equal(await save("a", "2"), "1", "the first value stays");
          const first = job({ queue: "kids", parentId: id, payload: { n: 1 } });
          const second = job({ queue: "kids", parentId: id, payload: { n: 2 } });
          assert.equal(await save("spawn", JSON.stringify(first.id), { child: first }), JSON.stringify(first.id));
          assert.equal(await save("spawn", JSON.stringify(second.id), { child: second }), JSON.stringify(first.id));
          assert.deepEqual(await list(stint, { parentId: id }), [first.id], "the child is inserted once");
          const kid = await driver.jobGet({ backend, id: first.id });
          assert.deepEqual([kid?.status, kid?.parentId, kid?.payload], ["ready", id, JSON.stringify({ n: 1 })]);

          // Not the holder: a stale token, another process.
          const stale = { attempt: c.claim.attempt, startedAt: c.claim.startedAt + 1 };
          const third = job({ queue: "kids", parentId: id });
          assert.equal(await save("b", "3", { claim: stale, child: third }), null);
          assert.equal(await save("b", "3", { claim: { ...c.claim, attempt: c.claim.attempt + 1 } }), null);
          assert.equal(await save("b", "3", { pid: await registerProcess(stint) }), null);
          assert.equal(await driver.jobGet({ backend, id: third.id }), null, "a refused save inserts no child");
          assert.deepEqual(
            await driver.stepList({ backend, jobId: id }),
            new Map([["a", "1"], ["spawn", JSON.stringify(first.id)]]),
          );
          assert.deepEqual(await driver.stepList({ backend: "someone_else", jobId: id }), new Map());

          // The claim ended: nothing more is written; the steps are kept for the next run.
          await driver.jobFinishMany({
            backend,
            processId,
            outcomes: [{ id, kind: "released" }],
            preserveFinished: true,
            now: new Date(),
          });
          assert.equal(await save("b", "3"), null);
          assert.equal(await stepRows(raw, [id]), 2);
          const [again] = await claim(stint, processId, ["q"], 1);
          assert.equal(again.id, id);
          assert.equal(await save("b", "3", { claim: again.claim }), "3");
          assert.equal((await driver.stepList({ backend, jobId: id })).get("b"), "3");
        }));

      test("steps go with their jobs: queueClear and retention delete them", () =>
        withBoth(target, async (stint, raw) => {
          const { backend, driver } = stint;
          const [cleared, pruned] = await insert(stint, job(), job({ queue: "r" }));
          const processId = await registerProcess(stint);
          for (const [id, queue] of [[cleared, "q"], [pruned, "r"]]) {
            const [c] = await claim(stint, processId, [queue], 1);
            const saved = await driver.stepSave({
              backend,
              processId,
              jobId: id,
              claim: c.claim,
              name: "s",
              value: "1",
              now: new Date(),
            });
            assert.equal(saved, "1");
          }
          await driver.jobFinishMany({
            backend,
            processId,
            outcomes: [{ id: cleared, kind: "released" }],
            preserveFinished: true,
            now: new Date(),
          });
          await succeed(stint, processId, [pruned], new Date(Date.now() - 60_000));
          assert.equal(await stepRows(raw, [cleared, pruned]), 2);
          assert.equal(await driver.queueClear({ backend, queue: "q", now: new Date() }), 1);
          assert.equal(await stepRows(raw, [cleared]), 0);
          const counts = await driver.retentionPrune({
            backend,
            finishedBefore: new Date(),
            failedBefore: null,
            recurringBefore: null,
            batchSize: 100,
          });
          assert.equal(counts.finished, 1);
          assert.equal(await stepRows(raw, [pruned]), 0);
        }));

      test("retention keeps a finished child while its parent runs or waits, and prunes it after", () =>
        withBoth(target, async (stint, raw) => {
          const { backend, driver } = stint;
          const [running, waiting, done, lone] = await insert(stint, job(), job(), job(), job());
          const [a, b, c, orphan] = await insert(
            stint,
            job({ queue: "kids", parentId: running }),
            job({ queue: "kids", parentId: waiting }),
            job({ queue: "kids", parentId: done }),
            job({ queue: "kids", parentId: newJobId() }),
          );
          const processId = await registerProcess(stint);
          const parents = await claim(stint, processId, ["q"], 10);
          assert.equal(parents.length, 4);
          await succeed(stint, processId, [done, lone]);
          await driver.jobFinishMany({
            backend,
            processId,
            outcomes: [{ id: waiting, kind: "released" }],
            preserveFinished: true,
            now: new Date(),
          });
          await makeWaiting(raw, waiting);
          assert.equal((await claim(stint, processId, ["kids"], 10)).length, 4);
          await succeed(stint, processId, [a, b, c, orphan]);

          const prune = () =>
            driver.retentionPrune({
              backend,
              finishedBefore: new Date(Date.now() + 60_000),
              failedBefore: null,
              recurringBefore: null,
              batchSize: 100,
            });
          assert.equal((await prune()).finished, 4, "done, lone, the child of done, and the orphan");
          assert.deepEqual((await list(stint)).sort(), [running, waiting, a, b].sort());
          await succeed(stint, processId, [running]);
          assert.equal((await prune()).finished, 2, "the running parent, then its child");
          assert.deepEqual(await list(stint), [b, waiting].sort().reverse());
        }));

      test("retention keeps the children of a failed parent (a retry joins them again); orphaned steps are swept", () =>
        withBoth(target, async (stint, raw) => {
          const { backend, driver } = stint;
          const [parent] = await insert(stint, job());
          const [child] = await insert(stint, job({ queue: "kids", parentId: parent }));
          const processId = await registerProcess(stint);
          await claim(stint, processId, ["q"], 1);
          await driver.jobFinishMany({
            backend,
            processId,
            outcomes: [{ id: parent, kind: "failed", error: { name: "Error", message: "x", stack: null } }],
            preserveFinished: true,
            now: new Date(),
          });
          await claim(stint, processId, ["kids"], 1);
          await succeed(stint, processId, [child]);
          const prune = () =>
            driver.retentionPrune({
              backend,
              finishedBefore: new Date(Date.now() + 60_000),
              failedBefore: null,
              recurringBefore: null,
              batchSize: 100,
            });
          assert.equal((await prune()).finished, 0, "the failed parent may be retried and join its child");
          assert.equal((await driver.jobGet({ backend, id: child }))?.status, "succeeded");

          // A job deleted without its steps (PostgreSQL's fast finish, which has no cascade) leaves none for long.
          const [lone] = await insert(stint, job({ queue: "lone" }));
          const [c] = await claim(stint, processId, ["lone"], 1);
          await driver.stepSave({ backend, processId, jobId: lone, claim: c.claim, name: "s", value: "1", now: new Date() });
          await raw.run(`DELETE FROM stint_claimed_executions WHERE job_id = ?`, [lone]);
          await raw.run(`DELETE FROM stint_jobs WHERE id = ?`, [lone]);
          await prune();
          assert.equal(await stepRows(raw, [lone]), 0);
        }));
    });
  });
}
