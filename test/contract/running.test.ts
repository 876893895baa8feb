/**
 * Running jobs, through the public Driver: a claim writes only the claimed row
 * (the attempt and its start), so the job's status, attempts and start are
 * derived from that row while it exists, and copied to the job's row by a
 * finish that keeps it. Discard and cancel must see a claimed job as running,
 * even while racing the claim.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineTask, type Stint, UndiscardableError } from "../../mod.ts";
import type { ClaimedJob, JobRecord, Outcome } from "../../src/records.ts";
import { targetsWithEngine } from "../support/targets.ts";
import { uniqueName, withStint } from "../support/harness.ts";
import { registerProcess } from "../support/driver.ts";

/** Claims from `queue` with an exact `now`, so the start a job reports can be compared with it. */
function claimAt(stint: Stint, processId: string, queue: string, now: Date, limit = 1): Promise<ClaimedJob[]> {
  return stint.driver.jobClaim({
    backend: stint.backend,
    processId,
    selectors: [{ kind: "exact", queue }],
    limit,
    now,
  });
}

/** Finishes `processId`'s claims, keeping the finished rows (preserveFinished) so they can be read back. */
function finish(stint: Stint, processId: string, outcomes: Outcome[], now: Date): Promise<string[]> {
  return stint.driver.jobFinishMany({ backend: stint.backend, processId, outcomes, preserveFinished: true, now });
}

async function get(stint: Stint, id: string): Promise<JobRecord> {
  const record = await stint.driver.jobGet({ backend: stint.backend, id });
  assert.ok(record, `job ${id} not found`);
  return record;
}

async function listed(stint: Stint, status: "running" | "ready", queue: string): Promise<string[]> {
  return (await stint.driver.jobList({ backend: stint.backend, status, queue, limit: 100 })).map((j) => j.id).sort();
}

/** Fixed instants (a whole second plus 123 ms, then `s` seconds on), so no time here can be mistaken for another. */
const BASE = Math.floor(Date.now() / 1000) * 1000 + 123;
const at = (s: number) => new Date(BASE + s * 1000);
/** Jobs with a concurrency key are finished by the shared engine on every driver (PostgreSQL's fast path skips them). */
const gated = defineTask("gated", () => null, { concurrency: { key: uniqueName("running-gate"), limit: 5 } });
const boom = (message: string) => ({ name: "Boom", message, stack: `Boom: ${message}` });

for (const target of targetsWithEngine) {
  describe(target.name, { skip: target.skip }, () => {
    describe("running jobs", () => {
      test("a claimed job reads as running with attempt 1 and the claim's start, listed as running only", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const { id } = await stint.enqueue("t", 1, { queue: q });
          const other = await stint.enqueue("t", 2, { queue: q });
          const before = await get(stint, id);
          assert.equal(before.attempts, 0);
          assert.equal(before.startedAt, null);

          const started = at(60);
          const processId = await registerProcess(stint);
          const [claimed] = await claimAt(stint, processId, q, started);
          assert.equal(claimed.id, id);
          assert.equal(claimed.attempt, 1);
          assert.deepEqual(claimed.claim, { attempt: 1, startedAt: started.getTime() }, "the claim token comes with the job");

          const record = await get(stint, id);
          assert.equal(record.status, "running");
          assert.equal(record.attempts, 1);
          assert.equal(record.startedAt?.getTime(), started.getTime());
          assert.equal(record.finishedAt, null);
          const result = await stint.getResult(id);
          assert.equal(result.status, "running");
          assert.equal(result.attempts, 1);
          assert.equal(result.startedAt?.getTime(), started.getTime());

          assert.deepEqual(await listed(stint, "running", q), [id]);
          assert.deepEqual(await listed(stint, "ready", q), [other.id]);
          const [summary] = await stint.driver.jobList({ backend: stint.backend, status: "running", limit: 10 });
          assert.equal(summary.status, "running");
          assert.equal(summary.attempts, 1);
          const [info] = await stint.driver.queueList({ backend: stint.backend, queue: q });
          assert.equal(info.running, 1);
          assert.equal(info.ready, 1);
          assert.equal((await get(stint, other.id)).status, "ready");
        }));

      test("a released job is ready again with attempts 0 and claims again as attempt 1", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const { id } = await stint.enqueue("t", null, { queue: q });
          const processId = await registerProcess(stint);
          await claimAt(stint, processId, q, at(10));
          assert.deepEqual(await finish(stint, processId, [{ id, kind: "released" }], at(20)), [id]);

          const released = await get(stint, id);
          assert.equal(released.status, "ready");
          assert.equal(released.attempts, 0);
          assert.equal(released.startedAt, null);
          assert.deepEqual(released.errors, []);
          assert.deepEqual(await listed(stint, "ready", q), [id]);
          assert.deepEqual(await listed(stint, "running", q), []);

          const [again] = await claimAt(stint, processId, q, at(30));
          assert.equal(again?.id, id);
          assert.equal(again.attempt, 1);
          const running = await get(stint, id);
          assert.equal(running.attempts, 1);
          assert.equal(running.startedAt?.getTime(), at(30).getTime());
        }));

      test("a retried job claims again as attempt 2; its first error is recorded as attempt 1", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const { id } = await stint.enqueue("t", null, { queue: q });
          const processId = await registerProcess(stint);
          const [first] = await claimAt(stint, processId, q, at(10));
          assert.equal(first.attempt, 1);
          const retried = [{ id, kind: "retry" as const, error: boom("first"), retryAt: at(20) }];
          assert.deepEqual(await finish(stint, processId, retried, at(20)), [id]);

          const waiting = await get(stint, id);
          assert.equal(waiting.status, "ready");
          assert.equal(waiting.attempts, 1);
          assert.deepEqual(waiting.errors.map((e) => [e.attempt, e.message]), [[1, "first"]]);

          const [second] = await claimAt(stint, processId, q, at(30));
          assert.equal(second?.id, id);
          assert.equal(second.attempt, 2);
          const running = await get(stint, id);
          assert.equal(running.status, "running");
          assert.equal(running.attempts, 2);
          assert.equal(running.startedAt?.getTime(), at(30).getTime());
          assert.deepEqual(running.errors.map((e) => e.attempt), [1]);

          assert.deepEqual(await finish(stint, processId, [{ id, kind: "failed", error: boom("second") }], at(40)), [
            id,
          ]);
          const failed = await get(stint, id);
          assert.equal(failed.status, "failed");
          assert.equal(failed.attempts, 2);
          assert.equal(failed.startedAt?.getTime(), at(30).getTime());
          assert.equal(failed.finishedAt?.getTime(), at(40).getTime());
          assert.deepEqual(failed.errors.map((e) => [e.attempt, e.message]), [[1, "first"], [2, "second"]]);
        }));

      test("with preserveFinished a succeeded job keeps the attempts and start of its claim", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const once = await stint.enqueue("t", 1, { queue: q });
          const twice = await stint.enqueue("t", 2, { queue: q });
          const processId = await registerProcess(stint);
          await claimAt(stint, processId, q, at(10), 2);
          const retry = { id: twice.id, kind: "retry" as const, error: boom("again"), retryAt: at(20) };
          assert.deepEqual(await finish(stint, processId, [retry], at(20)), [twice.id]);

          // One finish of two claims with different attempts and starts.
          const claimed = await claimAt(stint, processId, q, at(30), 2);
          assert.deepEqual(claimed.map((j) => [j.id, j.attempt]), [[twice.id, 2]]);
          const outcomes: Outcome[] = [once.id, twice.id].map((id) => ({ id, kind: "succeeded", returnValue: "7" }));
          assert.deepEqual((await finish(stint, processId, outcomes, at(40))).sort(), [once.id, twice.id].sort());

          const a = await get(stint, once.id);
          assert.equal(a.status, "succeeded");
          assert.equal(a.attempts, 1);
          assert.equal(a.startedAt?.getTime(), at(10).getTime());
          assert.equal(a.finishedAt?.getTime(), at(40).getTime());
          assert.equal(a.returnValue, "7");
          const b = await get(stint, twice.id);
          assert.equal(b.status, "succeeded");
          assert.equal(b.attempts, 2);
          assert.equal(b.startedAt?.getTime(), at(30).getTime());
          assert.deepEqual(b.errors.map((e) => e.attempt), [1]);
        }));

      test("without preserveFinished a succeeded job is deleted, alone or beside other outcomes", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const [retried, alone, mixed, failed] = await stint.enqueueAll(
            [1, 2, 3, 4].map((n) => ({ task: "t", payload: n, options: { queue: q } })),
          );
          const processId = await registerProcess(stint);
          const done = (outcomes: Outcome[], now: Date) =>
            stint.driver.jobFinishMany({ backend: stint.backend, processId, outcomes, preserveFinished: false, now });
          await claimAt(stint, processId, q, at(10), 4);
          const retry: Outcome = { id: retried.id, kind: "retry", error: boom("again"), retryAt: at(20) };
          const ok = (id: string): Outcome => ({ id, kind: "succeeded", returnValue: "1" });
          assert.deepEqual(await done([retry, ok(alone.id)], at(20)), [retried.id, alone.id], "a mixed batch");
          const [again] = await claimAt(stint, processId, q, at(30));
          assert.equal(again.id, retried.id);
          assert.deepEqual(await done([ok(retried.id)], at(40)), [retried.id], "an all-succeeded batch");
          assert.deepEqual(await done([ok(mixed.id), { id: failed.id, kind: "failed", error: boom("no") }], at(40)), [
            mixed.id,
            failed.id,
          ]);
          for (const { id } of [retried, alone, mixed]) {
            assert.equal(await stint.driver.jobGet({ backend: stint.backend, id }), null, "deleted");
          }
          const kept = await get(stint, failed.id);
          assert.equal(kept.status, "failed");
          assert.deepEqual(kept.errors.map((e) => [e.attempt, e.message]), [[1, "no"]]);
        }));

      test("a job with a concurrency key keeps its claim's attempt through retry, release and success", () =>
        withStint(target, { tasks: [gated] }, async (stint) => {
          const { id } = await stint.enqueue(gated, null);
          const { queue, concurrencyKey } = await get(stint, id);
          assert.notEqual(concurrencyKey, null);
          const processId = await registerProcess(stint);
          assert.equal((await claimAt(stint, processId, queue, at(10)))[0]?.attempt, 1);
          const retry = { id, kind: "retry" as const, error: boom("first"), retryAt: at(20) };
          assert.deepEqual(await finish(stint, processId, [retry], at(20)), [id]);
          assert.equal((await claimAt(stint, processId, queue, at(30)))[0]?.attempt, 2);
          assert.deepEqual(await finish(stint, processId, [{ id, kind: "released" }], at(40)), [id]);
          const released = await get(stint, id);
          assert.equal(released.status, "ready");
          assert.equal(released.attempts, 1);
          assert.equal(released.startedAt?.getTime(), at(10).getTime(), "the first attempt's start, as recorded");

          assert.equal((await claimAt(stint, processId, queue, at(50)))[0]?.attempt, 2);
          const running = await get(stint, id);
          assert.equal(running.attempts, 2);
          assert.equal(running.startedAt?.getTime(), at(50).getTime());
          const done = [{ id, kind: "succeeded" as const, returnValue: "true" }];
          assert.deepEqual(await finish(stint, processId, done, at(60)), [id]);
          const succeeded = await get(stint, id);
          assert.equal(succeeded.status, "succeeded");
          assert.equal(succeeded.attempts, 2);
          assert.equal(succeeded.startedAt?.getTime(), at(50).getTime());
          assert.deepEqual(succeeded.errors.map((e) => [e.attempt, e.message]), [[1, "first"]]);
        }));

      test("discarding a claimed job is refused and leaves it claimed", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const { id } = await stint.enqueue("t", null, { queue: q });
          const ready = await stint.enqueue("t", null, { queue: uniqueName() });
          const processId = await registerProcess(stint);
          await claimAt(stint, processId, q, at(10));

          await assert.rejects(() => stint.discardJob(id), (error: unknown) => {
            assert.ok(error instanceof UndiscardableError, `expected UndiscardableError, got ${error}`);
            assert.equal(error.jobId, id);
            assert.match(error.message, /is running/);
            return true;
          });
          const { discarded, statuses } = await stint.driver.jobDiscardMany({
            backend: stint.backend,
            ids: [id, ready.id],
            now: at(20),
          });
          assert.equal(discarded, 1);
          assert.deepEqual([...statuses].sort(), [[id, "running"], [ready.id, "ready"]].sort());

          const record = await get(stint, id);
          assert.equal(record.status, "running");
          assert.equal(record.finishedAt, null);
          assert.deepEqual(await stint.driver.claimListHeld({ backend: stint.backend, processId }), [
            { id, attempt: 1, startedAt: at(10).getTime() },
          ]);
          assert.equal((await get(stint, ready.id)).status, "discarded");
          const done = [{ id, kind: "succeeded" as const, returnValue: "null" }];
          assert.deepEqual(await finish(stint, processId, done, at(30)), [id]);
          assert.equal((await get(stint, id)).status, "succeeded");
        }));

      // Regression: a finish matched claims by process and job only, so an outcome
      // written again after it had in fact committed (the completer retries a write
      // whose answer was an error) landed on the job's next claim by the same process:
      // a retry or release sent the job back while that attempt was running.
      test("an outcome for an earlier claim of the job is not applied to its current claim", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const { id } = await stint.enqueue("t", null, { queue: q });
          const processId = await registerProcess(stint);
          const token = (s: number, attempt: number) => ({ attempt, startedAt: at(s).getTime() });

          const [first] = await claimAt(stint, processId, q, at(10));
          assert.equal(first.attempt, 1);
          const retry: Outcome = { id, kind: "retry", error: boom("attempt 1"), retryAt: at(0), claim: token(10, 1) };
          assert.deepEqual(await finish(stint, processId, [retry], at(11)), [id]);
          const [second] = await claimAt(stint, processId, q, at(20));
          assert.equal(second.attempt, 2);
          // The same retry, written again: it is for attempt 1's claim.
          assert.deepEqual(await finish(stint, processId, [retry], at(21)), []);
          const staleFail: Outcome = { id, kind: "failed", error: boom("stale"), claim: token(10, 1) };
          assert.deepEqual(await finish(stint, processId, [staleFail], at(22)), []);
          assert.deepEqual(await finish(stint, processId, [{ id, kind: "released", claim: token(10, 1) }], at(22)), []);
          let record = await get(stint, id);
          assert.equal(record.status, "running");
          assert.equal(record.attempts, 2);
          assert.deepEqual(record.errors.map((e) => [e.attempt, e.message]), [[1, "attempt 1"]]);
          assert.deepEqual(await stint.driver.claimListHeld({ backend: stint.backend, processId }), [
            { id, ...token(20, 2) },
          ]);

          // A released claim is claimed again with the same attempt: its time tells them apart.
          const release: Outcome = { id, kind: "released", claim: token(20, 2) };
          assert.deepEqual(await finish(stint, processId, [release], at(23)), [id]);
          const [third] = await claimAt(stint, processId, q, at(30));
          assert.equal(third.attempt, 2);
          assert.deepEqual(await finish(stint, processId, [release], at(31)), []);
          assert.equal((await get(stint, id)).status, "running");

          // The current claim's outcome applies, and one without a claim matches any claim.
          const done: Outcome = { id, kind: "succeeded", returnValue: "2", claim: token(30, 2) };
          assert.deepEqual(await finish(stint, processId, [done], at(32)), [id]);
          record = await get(stint, id);
          assert.equal(record.status, "succeeded");
          assert.equal(record.returnValue, "2");
          assert.equal(record.attempts, 2);
          const other = await stint.enqueue("t", null, { queue: q });
          await claimAt(stint, processId, q, at(40));
          assert.deepEqual(await finish(stint, processId, [{ id: other.id, kind: "succeeded", returnValue: "3" }], at(41)), [
            other.id,
          ]);
        }));

      test("the same holds for jobs the shared engine finishes (a concurrency key)", () =>
        withStint(target, { tasks: [gated] }, async (stint) => {
          const { id } = await stint.enqueue(gated, null);
          const processId = await registerProcess(stint);
          const token = (s: number) => ({ attempt: 1, startedAt: at(s).getTime() });
          const claim = (s: number) =>
            stint.driver.jobClaim({
              backend: stint.backend,
              processId,
              selectors: [{ kind: "all" }],
              limit: 1,
              now: at(s),
            });
          assert.deepEqual((await claim(10)).map((j) => j.id), [id]);
          const release: Outcome = { id, kind: "released", claim: token(10) };
          assert.deepEqual(await finish(stint, processId, [release], at(11)), [id]);
          assert.deepEqual((await claim(20)).map((j) => j.id), [id]);
          assert.deepEqual(await finish(stint, processId, [release], at(21)), []);
          assert.equal((await get(stint, id)).status, "running");
          const done: Outcome = { id, kind: "succeeded", returnValue: "1", claim: token(20) };
          assert.deepEqual(await finish(stint, processId, [done], at(22)), [id]);
          assert.equal((await get(stint, id)).status, "succeeded");
        }));

      test("cancelling a claimed job returns running and flags it for its runner", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const { id } = await stint.enqueue("t", null, { queue: q });
          const ready = await stint.enqueue("t", null, { queue: q });
          const processId = await registerProcess(stint);
          await claimAt(stint, processId, q, at(10));
          const ids = [id, ready.id];
          assert.deepEqual(await stint.driver.jobCancelRequested({ backend: stint.backend, ids }), []);

          assert.equal(await stint.driver.jobCancel({ backend: stint.backend, id, now: at(20) }), "running");
          assert.deepEqual(await stint.driver.jobCancelRequested({ backend: stint.backend, ids }), [id]);
          assert.equal((await get(stint, id)).status, "running");
          assert.deepEqual(await stint.driver.claimListHeld({ backend: stint.backend, processId }), [
            { id, attempt: 1, startedAt: at(10).getTime() },
          ]);
          assert.equal((await get(stint, ready.id)).status, "ready");

          assert.deepEqual(
            await finish(stint, processId, [{ id, kind: "cancelled", error: boom("cancelled") }], at(30)),
            [
              id,
            ],
          );
          const cancelled = await get(stint, id);
          assert.equal(cancelled.status, "cancelled");
          assert.equal(cancelled.attempts, 1);
          assert.equal(cancelled.startedAt?.getTime(), at(10).getTime());
          assert.deepEqual(cancelled.errors.map((e) => e.attempt), [1]);
        }));

      test("an orphaned claim comes back with its claim token, as the claim did", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const { id } = await stint.enqueue("t", null, { queue: q });
          const processId = await registerProcess(stint);
          const [claimed] = await claimAt(stint, processId, q, at(10));
          await stint.driver.processDeregister({ backend: stint.backend, id: processId });
          const [orphan] = await stint.driver.claimListOrphaned({ backend: stint.backend });
          assert.equal(orphan?.id, id);
          assert.deepEqual(orphan.claim, claimed.claim);
          assert.equal(orphan.attempt, 1);
        }));

      // Regression: the flag outlived the run it was meant for, so an operator's
      // retry of a job that failed before its worker saw the cancel was cancelled
      // again at the worker's first check.
      test("a cancel requested of a run that then failed does not carry over to its retry", () =>
        withStint(target, {}, async (stint) => {
          const q = uniqueName();
          const { id } = await stint.enqueue("t", null, { queue: q });
          const processId = await registerProcess(stint);
          await claimAt(stint, processId, q, at(10));
          assert.equal(await stint.driver.jobCancel({ backend: stint.backend, id, now: at(20) }), "running");
          const claim = { attempt: 1, startedAt: at(10).getTime() };
          const failed: Outcome = { id, kind: "failed", error: boom("failed first"), claim };
          assert.deepEqual(await finish(stint, processId, [failed], at(30)), [id]);
          const retried = await stint.driver.jobRetryMany({ backend: stint.backend, ids: [id], now: at(40) });
          assert.deepEqual(
            { count: retried.count, queues: retried.queues },
            { count: 1, queues: [q] },
            "the queue that got a ready job comes back with the count",
          );
          const [again] = await claimAt(stint, processId, q, at(50));
          assert.equal(again?.id, id);
          assert.deepEqual(await stint.driver.jobCancelRequested({ backend: stint.backend, ids: [id] }), []);
        }));

      test("a claim racing discards of the same jobs: each job is claimed or discarded, never both", {
        timeout: 60_000,
      }, () =>
        withStint(target, {}, async (stint) => {
          const processId = await registerProcess(stint);
          const { backend } = stint;
          // Rounds 0 and 1 discard all 20 in one call (started before and after the claim); the others discard
          // each job in its own call, with the claim started among them, so that claims and discards interleave.
          for (let round = 0; round < 8; round++) {
            const q = uniqueName();
            const ids = (await stint.enqueueAll(
              Array.from({ length: 20 }, (_, i) => ({ task: "t", payload: i, options: { queue: q } })),
            )).map((h) => h.id);
            const batches = round < 2 ? [ids] : ids.map((id) => [id]);
            const position = round < 2 ? round : Math.round((round - 2) * 20 / 5);
            const discards = batches.map((batch) => () =>
              stint.driver.jobDiscardMany({ backend, ids: batch, now: at(20) })
            );
            let jobs: ClaimedJob[] = [];
            const claimNow = async () => {
              jobs = await claimAt(stint, processId, q, at(10), 20);
            };
            const results = (await Promise.all(
              [...discards.slice(0, position), claimNow, ...discards.slice(position)].map((start) => start()),
            )).filter((r) => r !== undefined);
            const statuses = new Map(results.flatMap((r) => [...r.statuses]));
            const discarded = results.reduce((sum, r) => sum + r.discarded, 0);

            const claimed = new Set(jobs.map((j) => j.id));
            assert.equal(claimed.size, jobs.length);
            for (const id of ids) {
              const record = await get(stint, id);
              if (claimed.has(id)) {
                assert.equal(statuses.get(id), "running", `round ${round}: ${id} was claimed but discard saw it ready`);
                assert.equal(record.status, "running");
                assert.equal(record.finishedAt, null, `round ${round}: ${id} is claimed and was finished by discard`);
              } else {
                assert.equal(statuses.get(id), "ready", `round ${round}: ${id} was neither claimed nor discarded`);
                assert.equal(record.status, "discarded");
              }
            }
            assert.equal(discarded, ids.length - claimed.size);

            const outcomes: Outcome[] = jobs.map((j) => ({ id: j.id, kind: "succeeded", returnValue: "1" }));
            assert.deepEqual((await finish(stint, processId, outcomes, at(30))).sort(), [...claimed].sort());
            for (const id of ids) {
              assert.equal((await get(stint, id)).status, claimed.has(id) ? "succeeded" : "discarded");
            }
            assert.deepEqual(await stint.driver.claimListHeld({ backend, processId }), []);
            assert.deepEqual(await claimAt(stint, processId, q, at(40), 20), [], "nothing is left to claim");
          }
        }));
    });
  });
}
