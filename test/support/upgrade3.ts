/**
 * The upgrade from schema version 2 to 3 (multi-step jobs and the release's
 * other columns and tables), checked the same way on every dialect. A test
 * file makes a version-2 database its own way (migrations[0] and [1] applied
 * and recorded by `applyVersions`), writes jobs in flight with `seedVersion2`
 * (ready, scheduled and due, claimed by a process that is gone, failed), and
 * hands over to `checkUpgrade3`, which migrates through the public API and
 * drives every job to its end: claim, finish, getResult, as after any upgrade.
 */
import assert from "node:assert/strict";
import { createStint } from "../../mod.ts";
import { uniqueBackend } from "./harness.ts";
import type { RawSql } from "./upgrade.ts";
import { parseSelectors } from "../../src/selectors.ts";

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 600);

export interface Seed2 {
  backend: string;
  ready: string;
  scheduled: string;
  claimed: string;
  failed: string;
}

/** Jobs as version 2 writes them: a claim on the claimed row only, the job's row still "ready". */
export async function seedVersion2(raw: RawSql): Promise<Seed2> {
  const s: Seed2 = {
    backend: uniqueBackend(),
    ready: crypto.randomUUID(),
    scheduled: crypto.randomUUID(),
    claimed: crypto.randomUUID(),
    failed: crypto.randomUUID(),
  };
  const job = (id: string, status: string, attempts: number, finished: number | null) =>
    raw.run(
      `INSERT INTO stint_jobs (id, backend, task, queue, priority, payload, status, attempts, scheduled_at,
         started_at, finished_at, created_at, updated_at) VALUES (?, ?, 'upgrade', 'up', 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, s.backend, JSON.stringify({ id }), status, attempts, T0, finished, finished, T0, T0],
    );
  await job(s.ready, "ready", 0, null);
  await raw.run(
    `INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
     VALUES (?, ?, 'up', 0, ?, ?)`,
    [s.ready, s.backend, T0, T0],
  );
  await job(s.scheduled, "scheduled", 0, null);
  await raw.run(
    `INSERT INTO stint_scheduled_executions (job_id, backend, queue, priority, scheduled_at, created_at)
     VALUES (?, ?, 'up', 0, ?, ?)`,
    [s.scheduled, s.backend, T0, T0],
  );
  await job(s.claimed, "ready", 0, null);
  await raw.run(
    `INSERT INTO stint_claimed_executions (job_id, backend, process_id, attempt, started_at, created_at)
     VALUES (?, ?, NULL, 1, ?, ?)`,
    [s.claimed, s.backend, T0 + 5, T0 + 5],
  );
  await job(s.failed, "failed", 1, T0 + 20);
  await raw.run(
    `INSERT INTO stint_job_errors (job_id, backend, attempt, error_name, error_message, error_stack, created_at)
     VALUES (?, ?, 1, 'Boom', 'attempt 1', NULL, ?)`,
    [s.failed, s.backend, T0 + 20],
  );
  await raw.run(
    `INSERT INTO stint_failed_executions (job_id, backend, error_name, error_message, error_stack, created_at)
     VALUES (?, ?, 'Boom', 'attempt 1', NULL, ?)`,
    [s.failed, s.backend, T0 + 20],
  );
  return s;
}

/** Migrates `url` (version 2 recorded, `s` written) through the public API and drives every job to its end. */
export async function checkUpgrade3(url: string, raw: RawSql, s: Seed2): Promise<void> {
  const stint = await createStint({ url, backend: s.backend });
  const { driver, backend } = stint;
  try {
    assert.deepEqual(await stint.migrate(), [3]);
    const statuses = async () =>
      Object.fromEntries(
        await Promise.all(
          [s.ready, s.scheduled, s.claimed, s.failed].map(async (id) => [id, (await stint.getResult(id)).status]),
        ),
      );
    assert.deepEqual(await statuses(), {
      [s.ready]: "ready",
      [s.scheduled]: "scheduled",
      [s.claimed]: "running",
      [s.failed]: "failed",
    });
    const got = await driver.jobGet({ backend, id: s.claimed });
    assert.deepEqual([got?.workspace, got?.step, got?.parentId, got?.attempts], [null, null, null, 1]);

    // The claim made under version 2 is an orphan: recovered as the runtime would.
    const [orphan] = await driver.claimListOrphaned({ backend });
    assert.deepEqual([orphan.id, orphan.attempt, orphan.claim.startedAt, orphan.step], [s.claimed, 1, T0 + 5, null]);
    const now = new Date();
    assert.deepEqual(
      await driver.jobFinishMany({
        backend,
        processId: null,
        outcomes: [{ id: s.claimed, kind: "released", claim: orphan.claim }],
        preserveFinished: true,
        now,
      }),
      [s.claimed],
    );
    assert.equal((await driver.jobPromoteDue({ backend, limit: 10, now })).count, 1);
    assert.equal((await driver.jobRetryMany({ backend, ids: [s.failed], now })).count, 1);

    // Every job claims and finishes under version 3, and a step is stored for one of them.
    const processId = crypto.randomUUID();
    await driver.processRegister({
      backend,
      id: processId,
      info: { kind: "worker", name: "upgrade", pid: null, hostname: null, metadata: {}, supervisorId: null },
      now,
    });
    const jobs = await driver.jobClaim({ backend, processId, selectors: parseSelectors(["up"], "queues"), limit: 10, now });
    assert.deepEqual(jobs.map((j) => j.id).sort(), [s.ready, s.scheduled, s.claimed, s.failed].sort());
    assert.ok(jobs.every((j) => j.step === null && j.parentId === null && j.workspace === null));
    const first = jobs.find((j) => j.id === s.ready)!;
    assert.equal(
      await driver.stepSave({ backend, processId, jobId: s.ready, claim: first.claim, name: "s", value: "1", now }),
      "1",
    );
    const finished = await driver.jobFinishMany({
      backend,
      processId,
      outcomes: jobs.map((j) => ({ id: j.id, kind: "succeeded" as const, returnValue: JSON.stringify(j.id), claim: j.claim })),
      preserveFinished: true,
      now,
    });
    assert.equal(finished.length, 4);
    for (const id of [s.ready, s.scheduled, s.claimed, s.failed]) {
      const result = await stint.getResult(id);
      assert.equal(result.status, "succeeded");
      assert.equal(result.returnValue, id);
    }
    assert.equal((await stint.getResult(s.failed)).attempts, 2, "the failed attempt still counts");

    assert.deepEqual(await stint.migrate(), [], "a second migrate applies nothing");
    const versions = await raw.rows(`SELECT version FROM stint_schema_migrations ORDER BY version`);
    assert.deepEqual(versions.map((r) => Number(r.version)), [1, 2, 3]);
  } finally {
    await stint.close();
  }
}
