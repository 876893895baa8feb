/**
 * Child jobs and fan-in (DESIGN §10): ctx.spawn enqueues a child once per job
 * (a retry of the parent does not enqueue it again) with the parent's id;
 * ctx.join suspends the parent as "waiting", holding nothing, until every
 * child has ended, and the statement that ends the last one makes it ready; a
 * failed child does not throw in the parent. A join of jobs that are not the
 * job's children is a StepError. Cancelling a waiting parent, or discarding a
 * parent, cancels its children that have not ended (the lead's choice), and
 * retention never deletes the children of a waiting parent.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { JobResult, Stint } from "../../mod.ts";
import { readLog } from "../fixtures/tasks-steps.ts";
import { scenarioTargets, targetsWithEngine } from "../support/targets.ts";
import { allJobs, handle, modesFor, open, withSteps } from "../support/steps.ts";
import { uniqueName, withStintAt } from "../support/harness.ts";
import { waitFor, waitForStatus } from "../support/wait.ts";
import { waitForAll } from "../supervisor/support.ts";

const T = { timeout: 30_000 };
const ENDED = ["succeeded", "failed", "cancelled", "discarded"] as const;

type Joined = Array<
  { id: string; status: string; value: { value: number; parentId: string } | null; error: string | null }
>;

async function childrenOf(stint: Stint, parentId: string) {
  return (await allJobs(stint)).filter((j) => j.parentId === parentId).sort((a, b) => a.id.localeCompare(b.id));
}

/** The ids the parent noted as spawned, on each run. */
function spawnedNotes(dir: string, id: string): string[][] {
  return readLog(dir, id).filter((e) => e.spawned).map((e) => e.spawned as string[]);
}

for (const target of scenarioTargets(targetsWithEngine)) {
  describe(target.name, { skip: target.skip }, () => {
    for (const mode of modesFor(target)) {
      describe(`ctx.spawn and ctx.join (${mode} mode)`, () => {
        test(
          "children record their parent; the parent waits, then gets every child's result",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("parent", { dir, n: 3, gate: "kids" });
              const waiting = await waitForStatus(stint, id, "waiting", 10_000);
              assert.equal(waiting.attempts, 0, "waiting is not a counted attempt");
              assert.deepEqual(waiting.errors, []);
              const kids = await childrenOf(stint, id);
              assert.equal(kids.length, 3);
              for (const kid of kids) {
                const r = await stint.getResult(kid.id) as JobResult & { parentId: string | null };
                assert.equal(r.parentId, id, "getResult shows the parent");
                assert.equal(r.task, "child");
              }
              const [spawned] = spawnedNotes(dir, id);
              assert.deepEqual([...spawned].sort(), kids.map((k) => k.id));

              open(dir, "kids");
              // No timed assertion: the wake-up must simply happen (the last child's end makes the parent ready).
              const r = await waitForStatus(stint, id, [...ENDED], 15_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              const joined = r.returnValue as Joined;
              assert.deepEqual(joined.map((j) => j.id), spawned, "the join's results, in the order of the handles");
              assert.deepEqual(joined.map((j) => [j.status, j.value]), [
                ["succeeded", { value: 0, parentId: id }],
                ["succeeded", { value: 10, parentId: id }],
                ["succeeded", { value: 20, parentId: id }],
              ]);
              assert.equal(r.attempts, 1);
              const ran = readLog(dir, id).filter((e) => e.run !== undefined).length;
              assert.equal(ran, 2, "the parent ran once to spawn and wait, once to join");
              assert.equal((await childrenOf(stint, id)).length, 3, "the rerun after the join did not spawn again");
            }),
        );

        test(
          "the last child's end wakes its parent without polling (workers and dispatcher polling hourly)",
          T,
          () =>
            withSteps(target, {
              mode,
              workers: [{ concurrency: 3, isolates: 1, pollingInterval: "1h" }],
              dispatchers: [{ pollingInterval: "1h" }],
            }, async (stint, dir) => {
              const { id } = await stint.enqueue("parent", { dir, n: 2 });
              const r = await waitForStatus(stint, id, [...ENDED], 15_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.deepEqual((r.returnValue as Joined).map((j) => j.status), ["succeeded", "succeeded"]);
            }),
        );

        test(
          "a retry of the parent does not enqueue its children again",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("parent", { dir, n: 2, failAfterSpawn: 2 });
              const r = await waitForStatus(stint, id, [...ENDED], 15_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.equal(r.attempts, 3);
              const kids = await childrenOf(stint, id);
              assert.equal(kids.length, 2, "two children, not six");
              const notes = spawnedNotes(dir, id);
              assert.ok(notes.length >= 3);
              for (const ids of notes) assert.deepEqual(ids, notes[0], "every run got the same handles");
              for (const kid of kids) assert.equal(readLog(dir, kid.id).length, 1, "each child ran once");
            }),
        );

        test(
          "a failed child does not throw in the parent: its result says failed",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("parent", { dir, n: 3, failKids: [1] });
              const r = await waitForStatus(stint, id, [...ENDED], 15_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              const joined = r.returnValue as Joined;
              assert.deepEqual(joined.map((j) => j.status), ["succeeded", "failed", "succeeded"]);
              assert.equal(joined[1].error, "child 1 fails");
              assert.equal(r.attempts, 1);
            }),
        );

        test(
          "a join of jobs that are not this job's children is a StepError",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const other = await stint.enqueue("quick", { dir, value: 1 });
              await waitForStatus(stint, other.id, "succeeded", 10_000);
              for (
                const [kind, extra] of [["join-not-child", { other: other.id }], ["join-not-handles", {}]] as const
              ) {
                const { id } = await stint.enqueue("misuse", { dir, kind, ...extra });
                const r = await waitForStatus(stint, id, [...ENDED], 10_000);
                assert.equal(r.status, "failed", kind);
                assert.equal(r.error?.name, "StepError", `${kind}: ${r.error?.message}`);
              }
              // A sibling is not a child either: one parent's child joined by another job.
              const p = await stint.enqueue("parent", { dir, n: 1 });
              await waitForStatus(stint, p.id, "succeeded", 15_000);
              const [kid] = await childrenOf(stint, p.id);
              const { id } = await stint.enqueue("misuse", { dir, kind: "join-not-child", other: kid.id });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.error?.name, "StepError");
            }),
        );

        test(
          "a spawn runs the child task's onEnqueue hook, once per child",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("parent", { dir, n: 2, childTask: "noted_child", failAfterSpawn: 1 });
              const r = await waitForStatus(stint, id, [...ENDED], 15_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              const kids = await childrenOf(stint, id);
              assert.equal(kids.length, 2);
              for (const kid of kids) {
                const hooked = readLog(dir, kid.id).filter((e) => e.event === "onEnqueue");
                assert.equal(hooked.length, 1, "once, though the parent ran twice");
                assert.equal(hooked[0].task, "noted_child");
              }
            }),
        );

        test(
          "a waiting parent holds no concurrency slot: its child of the same key (limit 1) runs",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const key = uniqueName("fam");
              const { id } = await stint.enqueue("keyed_parent", { dir, key });
              const r = await waitForStatus(stint, id, [...ENDED], 15_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.equal(r.returnValue, "child done");
            }),
        );

        test(
          "a join naming one child twice (by handle and by id) still wakes once every child has ended",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("dup_join", { dir, gate: "g" });
              await waitForStatus(stint, id, "waiting", 10_000);
              open(dir, "g");
              const r = await waitForStatus(stint, id, [...ENDED], 15_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.deepEqual(r.returnValue, [["k0", "succeeded"], ["k1", "succeeded"], ["k0", "succeeded"], [
                "k0",
                "succeeded",
              ]]);
            }),
        );

        test(
          "a child's retry does not wake its parent: only its end does",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("parent", { dir, n: 1, childTask: "flaky_child", gate: "g" });
              await waitForStatus(stint, id, "waiting", 10_000);
              open(dir, "g");
              const r = await waitForStatus(stint, id, [...ENDED], 15_000);
              assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
              assert.deepEqual((r.returnValue as Joined).map((j) => [j.status, j.value?.value]), [["succeeded", 0]]);
              const ran = readLog(dir, id).filter((e) => e.run !== undefined).length;
              assert.equal(ran, 2, "the parent ran to spawn and wait, then once more to join (not on the retry)");
            }),
        );

        test(
          "cancelling a waiting parent cancels its children that have not ended",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("parent", { dir, n: 2, gate: "never" });
              await waitForStatus(stint, id, "waiting", 10_000);
              const kids = await childrenOf(stint, id);
              assert.equal(kids.length, 2);
              assert.deepEqual(handle(await stint.cancel(id)), { id, status: "cancelled" });
              assert.equal((await stint.getResult(id)).status, "cancelled");
              const ended = await waitForAll(stint, kids.map((k) => k.id), [...ENDED], 10_000);
              assert.deepEqual(ended.map((k) => k.status), ["cancelled", "cancelled"]);
            }),
        );
      });
    }

    describe("spawn, join and the operator", () => {
      test(
        "discarding a waiting parent discards it and cancels its children",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("parent", { dir, n: 2, childDelay: "1h" });
            await waitForStatus(stint, id, "waiting", 10_000);
            const kids = await childrenOf(stint, id);
            assert.deepEqual(kids.map((k) => k.status), ["scheduled", "scheduled"]);
            assert.deepEqual(handle(await stint.discardJob(id)), { id, status: "discarded" });
            assert.equal((await stint.getResult(id)).status, "discarded");
            const ended = await waitForAll(stint, kids.map((k) => k.id), [...ENDED], 10_000);
            assert.deepEqual(ended.map((k) => k.status), ["cancelled", "cancelled"]);
          }),
      );

      test(
        "children discarded or cancelled by the operator end the join: the parent reads their statuses",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("parent", { dir, n: 2, childDelay: "1h" });
            await waitForStatus(stint, id, "waiting", 10_000);
            const [first, second] = await childrenOf(stint, id);
            assert.deepEqual(handle(await stint.discardJob(first.id)), { id: first.id, status: "discarded" });
            assert.equal((await stint.getResult(id)).status, "waiting", "one child is left");
            assert.deepEqual(handle(await stint.cancel(second.id)), { id: second.id, status: "cancelled" });
            const r = await waitForStatus(stint, id, [...ENDED], 15_000);
            assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            const byId = new Map((r.returnValue as Joined).map((j) => [j.id, j.status]));
            assert.equal(byId.get(first.id), "discarded");
            assert.equal(byId.get(second.id), "cancelled");
          }),
      );

      test(
        "discarding a sleeping parent cancels its children that have not ended",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("parent", { dir, n: 2, gate: "never", sleepAfterSpawn: "1h" });
            await waitForStatus(stint, id, "scheduled", 10_000);
            const kids = await childrenOf(stint, id);
            assert.equal(kids.length, 2);
            assert.deepEqual(handle(await stint.discardJob(id)), { id, status: "discarded" });
            const ended = await waitForAll(stint, kids.map((k) => k.id), [...ENDED], 10_000);
            assert.deepEqual(ended.map((k) => k.status), ["cancelled", "cancelled"]);
          }),
      );

      test(
        "children that already ended are left as they are when their parent is cancelled",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            // The parent sleeps after spawning; its child (no gate) succeeds meanwhile.
            const { id } = await stint.enqueue("parent", { dir, n: 1, sleepAfterSpawn: "1h" });
            await waitForStatus(stint, id, "scheduled", 10_000);
            const [kid] = await childrenOf(stint, id);
            await waitForStatus(stint, kid.id, "succeeded", 10_000);
            await stint.cancel(id);
            assert.equal((await stint.getResult(kid.id)).status, "succeeded");
          }),
      );

      test(
        "a waiting parent shows in its queue's counts and in listJobs('waiting')",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("parent", { dir, n: 1, gate: "g" });
            await waitForStatus(stint, id, "waiting", 10_000);
            const [info] = await stint.driver.queueList({ backend: stint.backend, queue: "default" });
            assert.equal(info.waiting, 1);
            assert.deepEqual((await stint.listJobs("waiting")).map((j) => j.id), [id]);
            open(dir, "g");
            assert.equal((await waitForStatus(stint, id, [...ENDED], 15_000)).status, "succeeded");
          }),
      );

      test(
        "retryJob of a failed parent joins the same children again, kept by retention meanwhile",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("parent", { dir, n: 2, failAfterJoinUntil: "fixed" });
            const failed = await waitForStatus(stint, id, [...ENDED], 15_000);
            assert.equal(failed.status, "failed");
            const kids = await childrenOf(stint, id);
            assert.deepEqual(kids.map((k) => k.status), ["succeeded", "succeeded"]);
            await stint.prune({ finishedOlderThan: 0 });
            for (const kid of kids) assert.equal((await stint.getResult(kid.id)).status, "succeeded", "kept");

            open(dir, "fixed");
            await stint.retryJob(id);
            const r = await waitForStatus(stint, id, [...ENDED], 15_000);
            assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            assert.deepEqual(
              (r.returnValue as Joined).map((j) => [j.id, j.status]),
              kids.map((k) => [k.id, "succeeded"]),
            );
            assert.equal((await childrenOf(stint, id)).length, 2, "no child spawned again");
            for (const kid of kids) assert.equal(readLog(dir, kid.id).length, 1, "each child ran once");
          }),
      );

      test(
        "a running parent whose cancel was requested ends cancelled, and so does every child it spawned",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            // The parent spawns kid-0, then waits at "mid" without looking at its signal; the cancel comes from
            // another instance, so this runtime sees it only when it next polls for cancels.
            const { id } = await stint.enqueue("parent", { dir, n: 2, gate: "never", midGate: "mid" });
            await waitFor("kid-0 to be spawned", async () => (await childrenOf(stint, id)).length === 1, {
              timeout: 10_000,
            });
            await withStintAt(stint.config.url, { backend: stint.backend }, async (operator) => {
              assert.deepEqual(handle(await operator.cancel(id)), { id, status: "running" });
            });
            open(dir, "mid"); // kid-1 is spawned now, unless the runner saw the cancel first
            const r = await waitForStatus(stint, id, [...ENDED], 10_000);
            assert.equal(r.status, "cancelled", JSON.stringify(r.errors));
            const kids = await childrenOf(stint, id);
            const ended = await waitForAll(stint, kids.map((k) => k.id), [...ENDED], 10_000);
            assert.deepEqual(ended.map((k) => k.status), kids.map(() => "cancelled"), `${kids.length} children`);
          }),
      );

      test(
        "cancelling a waiting grandparent cancels its waiting child and that child's children",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const { id } = await stint.enqueue("grandparent", { dir });
            await waitForStatus(stint, id, "waiting", 10_000);
            const [middle] = await childrenOf(stint, id);
            await waitForStatus(stint, middle.id, "waiting", 10_000);
            const [leaf] = await childrenOf(stint, middle.id);
            await waitFor("the grandchild to start", () => readLog(dir, leaf.id).length === 1, { timeout: 10_000 });
            assert.deepEqual(handle(await stint.cancel(id)), { id, status: "cancelled" });
            const ended = await waitForAll(stint, [middle.id, leaf.id], [...ENDED], 10_000);
            assert.deepEqual(ended.map((k) => k.status), ["cancelled", "cancelled"]);
          }),
      );

      test(
        "retention never deletes the children of a waiting parent",
        T,
        () =>
          withSteps(target, { mode: "async" }, async (stint, dir) => {
            const other = await stint.enqueue("quick", { dir });
            await waitForStatus(stint, other.id, "succeeded", 10_000);
            const { id } = await stint.enqueue("parent", { dir, n: 2, gate: "g" });
            await waitForStatus(stint, id, "waiting", 10_000);
            const kids = await childrenOf(stint, id);
            assert.equal(kids.length, 2);
            // One child ends (cancelled); the parent still waits for the other.
            const [gone, kept] = kids;
            await stint.cancel(gone.id);
            await waitForStatus(stint, gone.id, "cancelled", 10_000);
            assert.equal((await stint.getResult(id)).status, "waiting");

            await stint.prune({ finishedOlderThan: 0, failedOlderThan: 0 });
            await assert.rejects(
              stint.getResult(other.id),
              { name: "JobNotFoundError" },
              "an unrelated finished job was pruned",
            );
            assert.equal(
              (await stint.getResult(gone.id)).status,
              "cancelled",
              "the waiting parent's ended child is kept",
            );

            open(dir, "g");
            const r = await waitForStatus(stint, id, [...ENDED], 15_000);
            assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
            const byId = new Map((r.returnValue as Joined).map((j) => [j.id, j.status]));
            assert.equal(byId.get(gone.id), "cancelled");
            assert.equal(byId.get(kept.id), "succeeded");
          }),
      );
    });
  });
}
