/**
 * The outcomes of multi-step and durable jobs (DESIGN §10), through the public
 * Driver: `advance` (the next step, keeping the concurrency slot), `sleep`
 * (scheduled, the slot given back, the attempt not counted), `wait` (a parent
 * suspended until its children have ended), and the end of an awaited child
 * waking its parent in the same transaction, whichever operation ends it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import postgres from "postgres";
import mysql from "mysql2/promise";
import type { Stint } from "../../mod.ts";
import type { ConcurrencyPolicy, JobRecord, Outcome } from "../../src/records.ts";
import { newJobId } from "../../src/ids.ts";
import { type Target, targetsWithEngine } from "../support/targets.ts";
import { uniqueName, withDatabase, withStintAt } from "../support/harness.ts";
import { claim, registerProcess } from "../support/driver.ts";

type Row = Record<string, unknown>;

/** The test's own statements (`?` placeholders), for the columns the Driver does not show. */
interface Raw {
  run(sql: string, params?: unknown[]): Promise<void>;
  rows(sql: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

function openRaw(target: Target, url: string): Raw {
  if (target.dialect === "libsql") {
    const client = createClient({ url });
    return {
      run: async (sql, params = []) => void await client.execute({ sql, args: params as never[] }),
      rows: async (sql, params = []) => (await client.execute({ sql, args: params as never[] })).rows as Row[],
      close: () => Promise.resolve(client.close()),
    };
  }
  if (target.dialect === "postgres") {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const numbered = (text: string) => {
      let n = 0;
      return text.replace(/\?/g, () => `$${++n}`);
    };
    return {
      run: async (text, params = []) => void await sql.unsafe(numbered(text), params as never[]),
      rows: async (text, params = []) => [...await sql.unsafe(numbered(text), params as never[])] as Row[],
      close: () => sql.end(),
    };
  }
  const pool = mysql.createPool({ uri: url, connectionLimit: 1 });
  return {
    run: async (sql, params = []) => void await pool.query(sql, params),
    rows: async (sql, params = []) => (await pool.query(sql, params))[0] as Row[],
    close: () => pool.end(),
  };
}

interface Env {
  stint: Stint;
  raw: Raw;
  /** Inserts jobs into `queue`, children of `parentId` when given; returns their ids. */
  insert(queue: string, count: number, o?: { parentId?: string; concurrency?: ConcurrencyPolicy; at?: Date }): Promise<string[]>;
  finish(processId: string, outcomes: Outcome[], preserveFinished?: boolean): Promise<string[]>;
  get(id: string): Promise<JobRecord>;
}

function withEnv(target: Target, fn: (env: Env) => Promise<void>): Promise<void> {
  return withDatabase(target, (url) =>
    withStintAt(url, {}, async (stint) => {
      const raw = openRaw(target, url);
      try {
        const env: Env = {
          stint,
          raw,
          async insert(queue, count, o = {}) {
            const jobs = Array.from({ length: count }, () => ({
              id: newJobId(),
              task: "t",
              queue,
              priority: 0,
              payload: "{}",
              scheduledAt: o.at ?? new Date(),
              concurrency: o.concurrency ?? null,
              parentId: o.parentId ?? null,
            }));
            await stint.driver.jobInsertMany({ backend: stint.backend, jobs, now: new Date() });
            const ids = jobs.map((j) => j.id);
            if (o.parentId !== undefined) {
              // Whatever the insert wrote, the rows name their parent (the insert's own test is elsewhere).
              await raw.run(
                `UPDATE stint_jobs SET parent_id = ? WHERE id IN (${ids.map(() => "?").join(", ")})`,
                [o.parentId, ...ids],
              );
            }
            return ids;
          },
          finish: (processId, outcomes, preserveFinished = false) =>
            stint.driver.jobFinishMany({ backend: stint.backend, processId, outcomes, preserveFinished, now: new Date() }),
          async get(id) {
            const record = await stint.driver.jobGet({ backend: stint.backend, id });
            assert.ok(record, `job ${id} not found`);
            return record;
          },
        };
        await fn(env);
      } finally {
        await raw.close();
      }
    }));
}

const boom = (message: string) => ({ name: "Boom", message, stack: `Boom: ${message}` });
const policy = (): ConcurrencyPolicy => ({ key: uniqueName("steps"), limit: 1, durationMs: 3_600_000, onConflict: "block" });

async function semaphoreValue(stint: Stint, key: string): Promise<number | undefined> {
  const all = await stint.driver.semaphoreList({ limit: 1_000_000 });
  return all.find((s) => s.key === key)?.value;
}

async function one(stint: Stint, processId: string, queue: string) {
  const jobs = await claim(stint, processId, [queue], 10);
  assert.equal(jobs.length, 1, `one job claimed from ${queue}`);
  return jobs[0];
}

/** A parent in `qp` claimed and waiting for `children` (its wait applied). */
async function waitFor(env: Env, processId: string, qp: string, parent: string, children: string[]) {
  const claimed = await one(env.stint, processId, qp);
  assert.equal(claimed.id, parent);
  assert.deepEqual(await env.finish(processId, [{ id: parent, kind: "wait", children, claim: claimed.claim }]), [parent]);
}

for (const target of targetsWithEngine) {
  describe(target.name, { skip: target.skip }, () => {
    describe("multi-step and durable outcomes", () => {
      test("advance writes the workspace and step, counts the attempt and keeps the concurrency slot", () =>
        withEnv(target, async (env) => {
          const q = uniqueName();
          const c = policy();
          const [id] = await env.insert(q, 1, { concurrency: c });
          const processId = await registerProcess(env.stint);
          const first = await one(env.stint, processId, q);
          await env.finish(processId, [{ id, kind: "retry", error: boom("step 1"), retryAt: new Date(0) }]);
          const second = await one(env.stint, processId, q);
          assert.equal(second.attempt, 2);
          assert.ok(first.claim.startedAt <= second.claim.startedAt);
          // A job behind it on the key stays blocked: the slot is still held.
          const [behind] = await env.insert(q, 1, { concurrency: c });
          assert.equal((await env.get(behind)).status, "blocked");
          assert.equal(await semaphoreValue(env.stint, c.key), 0);

          const step = JSON.stringify({ index: 1, name: "store", count: 2 });
          const advanced = [{ id, kind: "advance" as const, workspace: '{"rows":3}', step, claim: second.claim }];
          assert.deepEqual(await env.finish(processId, advanced), [id]);
          const record = await env.get(id);
          assert.equal(record.status, "ready");
          assert.equal(record.attempts, 2, "the step's attempt counts");
          assert.equal((await env.get(behind)).status, "blocked", "no slot was given back");
          assert.equal(await semaphoreValue(env.stint, c.key), 0);
          const [row] = await env.raw.rows(`SELECT workspace, step FROM stint_jobs WHERE id = ?`, [id]);
          assert.equal(row.workspace, '{"rows":3}');
          assert.equal(row.step, step);

          const next = await one(env.stint, processId, q);
          assert.equal(next.id, id);
          assert.equal(next.attempt, 3, "every claim of the job has its own attempt number");
          await env.finish(processId, [{ id, kind: "succeeded", returnValue: "3", workspace: '{"rows":3,"done":true}' }], true);
          const done = await env.get(id);
          assert.equal(done.status, "succeeded");
          assert.equal(done.returnValue, "3");
          const [final] = await env.raw.rows(`SELECT workspace FROM stint_jobs WHERE id = ?`, [id]);
          assert.equal(final.workspace, '{"rows":3,"done":true}', "a succeeded multi-step job keeps its last workspace");
          assert.equal((await env.get(behind)).status, "ready", "the end gives the slot to the next in line");
        }));

      test("sleep schedules the job without counting the attempt, gives its slot back, and passes the gate when due", () =>
        withEnv(target, async (env) => {
          const q = uniqueName();
          const c = policy();
          const [id, behind] = await env.insert(q, 2, { concurrency: c });
          assert.equal((await env.get(behind)).status, "blocked");
          const processId = await registerProcess(env.stint);
          const claimed = await one(env.stint, processId, q);
          assert.equal(claimed.id, id);
          const until = new Date(Date.now() + 3_600_000);
          assert.deepEqual(await env.finish(processId, [{ id, kind: "sleep", until, claim: claimed.claim }]), [id]);
          const asleep = await env.get(id);
          assert.equal(asleep.status, "scheduled");
          assert.equal(asleep.scheduledAt.getTime(), until.getTime());
          assert.equal(asleep.attempts, 0, "a sleep is not counted");
          assert.deepEqual(asleep.errors, []);
          assert.equal((await env.get(behind)).status, "ready", "the slot went to the job behind it");

          // Due while the other job holds the slot: blocked behind it.
          const promoted = await env.stint.driver.jobPromoteDue({
            backend: env.stint.backend,
            limit: 10,
            now: new Date(until.getTime() + 1),
          });
          assert.equal(promoted.count, 1);
          assert.equal((await env.get(id)).status, "blocked");

          // A sleep already over goes through the gate at once: a free slot, so ready.
          const q2 = uniqueName();
          const [again] = await env.insert(q2, 1, { concurrency: policy() });
          const claimed2 = await one(env.stint, processId, q2);
          await env.finish(processId, [{ id: again, kind: "sleep", until: new Date(0), claim: claimed2.claim }]);
          assert.equal((await env.get(again)).status, "ready");
          assert.equal((await one(env.stint, processId, q2)).attempt, 1);
        }));

      test("a wait for children that have all ended makes the parent ready at once; succeeded children are kept", () =>
        withEnv(target, async (env) => {
          const [qp, qc] = [uniqueName(), uniqueName()];
          const [parent] = await env.insert(qp, 1);
          const [ok, bad] = await env.insert(qc, 2, { parentId: parent });
          const [stranger] = await env.insert(uniqueName(), 1);
          const processId = await registerProcess(env.stint);
          const kids = await claim(env.stint, processId, [qc], 10);
          assert.equal(kids.length, 2);
          await env.finish(processId, [
            { id: ok, kind: "succeeded", returnValue: '"fine"', parentId: parent },
            { id: bad, kind: "failed", error: boom("child"), parentId: parent },
          ]);
          const kept = await env.get(ok);
          assert.equal(kept.status, "succeeded", "a child's result stays for the join, preserveFinished or not");
          assert.equal(kept.returnValue, '"fine"');
          assert.equal((await env.get(bad)).status, "failed");

          // A job that is not its child is not waited for.
          await waitFor(env, processId, qp, parent, [ok, bad, stranger]);
          const record = await env.get(parent);
          assert.equal(record.status, "ready");
          assert.equal(record.attempts, 0, "a wait is not counted");
          assert.equal((await one(env.stint, processId, qp)).attempt, 1);
        }));

      test("a waiting parent becomes ready with the finish of its last child, not before", () =>
        withEnv(target, async (env) => {
          const [qp, qc] = [uniqueName(), uniqueName()];
          const [parent] = await env.insert(qp, 1);
          const [a, b, c] = await env.insert(qc, 3, { parentId: parent });
          const processId = await registerProcess(env.stint);
          await waitFor(env, processId, qp, parent, [a, b, c]);
          assert.equal((await env.get(parent)).status, "waiting");
          assert.deepEqual(await claim(env.stint, processId, [qp], 10), [], "a waiting parent is not claimable");

          const ends: Outcome[] = [
            { id: a, kind: "succeeded", returnValue: "1", parentId: parent },
            { id: b, kind: "failed", error: boom("b"), parentId: parent },
            { id: c, kind: "cancelled", error: boom("c"), parentId: parent },
          ];
          for (const [i, end] of ends.entries()) {
            const [child] = await claim(env.stint, processId, [qc], 1);
            assert.equal(child?.id, end.id);
            assert.deepEqual(await env.finish(processId, [end]), [end.id]);
            assert.equal((await env.get(parent)).status, i < 2 ? "waiting" : "ready", `after child ${i + 1} of 3`);
          }
          const woken = await one(env.stint, processId, qp);
          assert.equal(woken.id, parent);
          assert.equal(woken.attempt, 1);
        }));

      test("children ending at once in two transactions wake each parent exactly once", () =>
        withEnv(target, async (env) => {
          // A few rounds: the race is the point, and one round may happen not to interleave.
          for (let round = 0; round < 3; round++) {
            const [qp, qa, qb] = [uniqueName(), uniqueName(), uniqueName()];
            const parents = await env.insert(qp, 8);
            const firsts: string[] = [];
            const seconds: string[] = [];
            for (const parent of parents) {
              firsts.push(...await env.insert(qa, 1, { parentId: parent }));
              seconds.push(...await env.insert(qb, 1, { parentId: parent }));
            }
            const main = await registerProcess(env.stint);
            const claimedParents = await claim(env.stint, main, [qp], 100);
            assert.equal(claimedParents.length, 8);
            await env.finish(main, parents.map((id, i) => ({ id, kind: "wait", children: [firsts[i], seconds[i]] })));
            for (const id of parents) assert.equal((await env.get(id)).status, "waiting");

            const [pa, pb] = [await registerProcess(env.stint), await registerProcess(env.stint)];
            assert.equal((await claim(env.stint, pa, [qa], 100)).length, 8);
            assert.equal((await claim(env.stint, pb, [qb], 100)).length, 8);
            const ends = (ids: string[]): Outcome[] =>
              ids.map((id, i) => ({ id, kind: "succeeded", returnValue: "1", parentId: parents[i] }));
            const [doneA, doneB] = await Promise.all([env.finish(pa, ends(firsts)), env.finish(pb, ends(seconds))]);
            assert.equal(doneA.length + doneB.length, 16);
            for (const id of parents) assert.equal((await env.get(id)).status, "ready");
            const again = await claim(env.stint, main, [qp], 100);
            assert.deepEqual(again.map((j) => j.id).sort(), [...parents].sort(), "each parent is ready once");
            assert.deepEqual(await claim(env.stint, main, [qp], 100), []);
          }
        }));

      test("cancelling or discarding an awaited child that has not run wakes its parent", () =>
        withEnv(target, async (env) => {
          const [qp, qc] = [uniqueName(), uniqueName()];
          const [parent] = await env.insert(qp, 1);
          const [ready] = await env.insert(qc, 1, { parentId: parent });
          const [later] = await env.insert(qc, 1, { parentId: parent, at: new Date(Date.now() + 3_600_000) });
          const processId = await registerProcess(env.stint);
          await waitFor(env, processId, qp, parent, [ready, later]);
          const now = new Date();
          assert.equal(await env.stint.driver.jobCancel({ backend: env.stint.backend, id: ready, now }), "ready");
          assert.equal((await env.get(parent)).status, "waiting");
          const discarded = await env.stint.driver.jobDiscardMany({ backend: env.stint.backend, ids: [later], now });
          assert.equal(discarded.discarded, 1);
          assert.equal((await env.get(parent)).status, "ready");
        }));

      test("clearing a queue of awaited children wakes their parent (they will never end otherwise)", () =>
        withEnv(target, async (env) => {
          const [qp, qc] = [uniqueName(), uniqueName()];
          const [parent] = await env.insert(qp, 1);
          const children = await env.insert(qc, 2, { parentId: parent });
          const processId = await registerProcess(env.stint);
          await waitFor(env, processId, qp, parent, children);
          assert.equal((await env.get(parent)).status, "waiting");
          assert.equal(await env.stint.driver.queueClear({ backend: env.stint.backend, queue: qc, now: new Date() }), 2);
          assert.equal((await env.get(parent)).status, "ready");
        }));

      test("an awaited child discarded by the concurrency gate when due wakes its parent", () =>
        withEnv(target, async (env) => {
          const [qp, qc] = [uniqueName(), uniqueName()];
          const c: ConcurrencyPolicy = { ...policy(), onConflict: "discard" };
          await env.insert(uniqueName(), 1, { concurrency: c }); // holds the key's only slot
          const [parent] = await env.insert(qp, 1);
          const due = new Date(Date.now() + 3_600_000);
          const [child] = await env.insert(qc, 1, { parentId: parent, concurrency: c, at: due });
          const processId = await registerProcess(env.stint);
          await waitFor(env, processId, qp, parent, [child]);
          assert.equal((await env.get(parent)).status, "waiting");
          const now = new Date(due.getTime() + 1);
          assert.equal((await env.stint.driver.jobPromoteDue({ backend: env.stint.backend, limit: 10, now })).count, 1);
          assert.equal((await env.get(child)).status, "discarded");
          assert.equal((await env.get(parent)).status, "ready");
        }));

      test("a child that is retried or released has not ended: its parent waits on", () =>
        withEnv(target, async (env) => {
          const [qp, qc] = [uniqueName(), uniqueName()];
          const [parent] = await env.insert(qp, 1);
          const [child] = await env.insert(qc, 1, { parentId: parent });
          const processId = await registerProcess(env.stint);
          await waitFor(env, processId, qp, parent, [child]);
          await one(env.stint, processId, qc);
          const retry: Outcome = { id: child, kind: "retry", error: boom("again"), retryAt: new Date(0), parentId: parent };
          assert.deepEqual(await env.finish(processId, [retry]), [child]);
          assert.equal((await env.get(parent)).status, "waiting", "after a retry");
          await one(env.stint, processId, qc);
          assert.deepEqual(await env.finish(processId, [{ id: child, kind: "released", parentId: parent }]), [child]);
          assert.equal((await env.get(parent)).status, "waiting", "after a release");
          await one(env.stint, processId, qc);
          await env.finish(processId, [{ id: child, kind: "failed", error: boom("last"), parentId: parent }]);
          assert.equal((await env.get(parent)).status, "ready");
          // The failed child can be retried; that wakes nobody (its parent is no longer waiting for it).
          const retried = await env.stint.driver.jobRetryMany({ backend: env.stint.backend, ids: [child], now: new Date() });
          assert.equal(retried.count, 1);
          assert.equal((await env.get(child)).status, "ready");
          assert.equal((await env.get(parent)).status, "ready");
        }));

      test("a waiting parent can be cancelled or discarded, and its children's ends leave it so", () =>
        withEnv(target, async (env) => {
          const [qp, qc] = [uniqueName(), uniqueName()];
          const [cancelled, discarded] = await env.insert(qp, 2);
          const [c1] = await env.insert(qc, 1, { parentId: cancelled });
          const [c2] = await env.insert(qc, 1, { parentId: discarded });
          const processId = await registerProcess(env.stint);
          const parents = await claim(env.stint, processId, [qp], 10);
          assert.equal(parents.length, 2);
          await env.finish(processId, [
            { id: cancelled, kind: "wait", children: [c1] },
            { id: discarded, kind: "wait", children: [c2] },
          ]);
          const now = new Date();
          assert.equal(await env.stint.driver.jobCancel({ backend: env.stint.backend, id: cancelled, now }), "waiting");
          const gone = await env.stint.driver.jobDiscardMany({ backend: env.stint.backend, ids: [discarded], now });
          assert.equal(gone.discarded, 1);
          assert.equal(gone.statuses.get(discarded), "waiting");
          const record = await env.get(cancelled);
          assert.equal(record.status, "cancelled");
          assert.ok(record.finishedAt);
          assert.equal((await env.get(discarded)).status, "discarded");

          assert.equal((await claim(env.stint, processId, [qc], 10)).length, 2);
          await env.finish(processId, [
            { id: c1, kind: "succeeded", returnValue: "1", parentId: cancelled },
            { id: c2, kind: "succeeded", returnValue: "2", parentId: discarded },
          ]);
          assert.equal((await env.get(cancelled)).status, "cancelled");
          assert.equal((await env.get(discarded)).status, "discarded");
          assert.deepEqual(await claim(env.stint, processId, [qp], 10), []);
        }));

      test("a child's success is kept even when its outcome does not name the parent", () =>
        withEnv(target, async (env) => {
          const [qp, qc] = [uniqueName(), uniqueName()];
          const [parent] = await env.insert(qp, 1);
          const [child] = await env.insert(qc, 1, { parentId: parent });
          const [plain] = await env.insert(qc, 1);
          const processId = await registerProcess(env.stint);
          await waitFor(env, processId, qp, parent, [child]);
          assert.equal((await claim(env.stint, processId, [qc], 10)).length, 2);
          // PostgreSQL's fast path must still leave a child to the engine (it reads parent_id from the row).
          const ok = (id: string): Outcome => ({ id, kind: "succeeded", returnValue: "7" });
          assert.deepEqual((await env.finish(processId, [ok(child), ok(plain)])).sort(), [child, plain].sort());
          assert.equal((await env.get(child)).status, "succeeded");
          assert.equal(await env.stint.driver.jobGet({ backend: env.stint.backend, id: plain }), null, "deleted");
          assert.equal((await env.get(parent)).status, "ready");
        }));
    });
  });
}
