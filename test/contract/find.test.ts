/**
 * Finding jobs by their data (DESIGN §10): stint.jobs({ task, queue, status,
 * where, limit, before }) lists jobs newest first; `where` matches top-level
 * fields of the payload, or of the current workspace of a multi-step job, by
 * JSON equality. On every database.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { JobSummary, Stint } from "../../mod.ts";
import { targets } from "../support/targets.ts";
import { uniqueName } from "../support/harness.ts";
import { open, withSteps } from "../support/steps.ts";
import { waitFor } from "../support/wait.ts";
import { readLog } from "../fixtures/tasks-steps.ts";

const T = { timeout: 30_000 };

type Query = {
  task?: string;
  queue?: string;
  status?: string;
  where?: Record<string, unknown>;
  limit?: number;
  before?: string;
};
type Jobs = (query?: Query) => Promise<JobSummary[]>;

function jobsOf(stint: Stint): Jobs | null {
  const fn = (stint as unknown as { jobs?: Jobs }).jobs;
  return typeof fn === "function" ? fn.bind(stint) : null;
}

const ids = (list: JobSummary[]) => list.map((j) => j.id);

for (const target of targets) {
  describe(target.name, { skip: target.skip }, () => {
    describe("stint.jobs({ where })", () => {
      test(
        "matches top-level payload fields by JSON equality, newest first",
        T,
        (t) =>
          withSteps(target, {}, async (stint, dir) => {
            const jobs = jobsOf(stint);
            if (!jobs) return t.skip("stint.jobs() is not there yet");
            const a = await stint.enqueue("quick", { dir, userId: 7, tag: "a" });
            const b = await stint.enqueue("quick", { dir, userId: 8, tag: "b" });
            const c = await stint.enqueue("quick", { dir, userId: "7", tag: "c" });
            const d = await stint.enqueue("quick", { dir, userId: 7, tag: "d", user: { id: 7 } }, { queue: "other" });
            const e = await stint.enqueue("memo", { dir, userId: 7 });
            assert.deepEqual(
              ids(await jobs({ where: { userId: 7 } })),
              [e.id, d.id, a.id],
              "the number 7, not the string",
            );
            assert.deepEqual(ids(await jobs({ where: { userId: "7" } })), [c.id]);
            assert.deepEqual(ids(await jobs({ where: { userId: 7, tag: "a" } })), [a.id], "every field must match");
            assert.deepEqual(ids(await jobs({ where: { user: { id: 7 } } })), [d.id], "objects by JSON equality");
            assert.deepEqual(ids(await jobs({ where: { userId: 7 }, task: "quick" })), [d.id, a.id]);
            assert.deepEqual(ids(await jobs({ where: { userId: 7 }, queue: "other" })), [d.id]);
            assert.deepEqual(ids(await jobs({ where: { userId: 7 }, limit: 1 })), [e.id]);
            assert.deepEqual(ids(await jobs({ where: { userId: 7 }, before: e.id })), [d.id, a.id]);
            assert.deepEqual(ids(await jobs({ where: { userId: 9 } })), []);
            assert.deepEqual(ids(await jobs({ where: { nope: null } })), [], "a missing field is not null");
            assert.deepEqual(ids(await jobs({ where: { userId: 8 }, status: "ready" })), [b.id]);
            assert.deepEqual(ids(await jobs({ where: { userId: 8 }, status: "failed" })), []);
          }),
      );

      test(
        "JSON equality tells true from 1, null from missing, and matches decimals and quoted text",
        T,
        (t) =>
          withSteps(target, {}, async (stint, dir) => {
            const jobs = jobsOf(stint);
            if (!jobs) return t.skip("stint.jobs() is not there yet");
            const yes = await stint.enqueue("quick", { dir, flag: true });
            const one = await stint.enqueue("quick", { dir, flag: 1 });
            const nil = await stint.enqueue("quick", { dir, v: null });
            const dec = await stint.enqueue("quick", { dir, n: 7.5 });
            const text = await stint.enqueue("quick", { dir, s: 'é "quoted" \\ back' });
            const list = await stint.enqueue("quick", { dir, tags: ["a", "b"] });
            assert.deepEqual(ids(await jobs({ where: { flag: true } })), [yes.id]);
            assert.deepEqual(ids(await jobs({ where: { flag: 1 } })), [one.id]);
            assert.deepEqual(ids(await jobs({ where: { flag: false } })), []);
            assert.deepEqual(ids(await jobs({ where: { v: null } })), [nil.id], "a null field, not a missing one");
            assert.deepEqual(ids(await jobs({ where: { n: 7.5 } })), [dec.id]);
            assert.deepEqual(ids(await jobs({ where: { s: 'é "quoted" \\ back' } })), [text.id]);
            assert.deepEqual(ids(await jobs({ where: { tags: ["a", "b"] } })), [list.id]);
            assert.deepEqual(ids(await jobs({ where: { tags: ["b", "a"] } })), [], "arrays in order");
          }),
      );

      test(
        "a multi-step job is matched by its current workspace",
        T,
        (t) =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const jobs = jobsOf(stint);
            if (!jobs) return t.skip("stint.jobs() is not there yet");
            const queue = uniqueName();
            const { id } = await stint.enqueue("steps3", { dir, trail: [], userId: 7, gates: { first: "g1" } }, {
              queue,
            });
            assert.deepEqual(ids(await jobs({ where: { userId: 7 } })), [id], "before its first step: the payload");
            assert.deepEqual(ids(await jobs({ where: { mark: 1 } })), []);
            await waitFor("the first step to start", () => readLog(dir, id).length === 1, { timeout: 10_000 });
            await stint.queue(queue).pause();
            open(dir, "g1");
            await waitFor("the job to be at its second step", async () => {
              const r = await stint.getResult(id) as { status: string; step?: { index: number } | null };
              return r.status === "ready" && r.step?.index === 1;
            }, { timeout: 10_000 });
            // The first step added `mark: 1` to the workspace (the payload has none).
            assert.deepEqual(ids(await jobs({ where: { mark: 1 } })), [id]);
            assert.deepEqual(ids(await jobs({ where: { mark: 1, userId: 7 } })), [id]);
          }),
      );
    });
  });
}
