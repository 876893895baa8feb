/**
 * The upgrade from schema version 1 (to the latest), checked the same way on every dialect.
 * Under version 1 a claim wrote the job's row (status "running", attempts
 * already incremented); version 2 moves the attempt and its start to the
 * claimed row. A test file makes a version-1 database its own way (only
 * migrations[0], recorded as the driver records it), writes the state below
 * with `seedVersion1`, and hands over to `checkUpgrade`, which migrates through
 * the public API and checks every job, the recovery of the orphaned claim, and
 * that a second migrate applies nothing.
 */
import assert from "node:assert/strict";
import { createStint } from "../../mod.ts";
import type { Driver } from "../../src/driver.ts";
import type { Migration } from "../../drivers/engine/access.ts";
import { uniqueBackend } from "./harness.ts";

export type Row = Record<string, unknown>;

/** The test's own statements on its raw client, with `?` placeholders. */
export interface RawSql {
  run(sql: string, params?: unknown[]): Promise<void>;
  rows(sql: string, params?: unknown[]): Promise<Row[]>;
}

/** Applies only version 1's statements and records version 1 as the driver would. */
export async function applyVersion1(raw: RawSql, version1: Migration, versionTableDdl: string): Promise<void> {
  assert.equal(version1.version, 1);
  await applyVersions(raw, [version1], versionTableDdl);
}

/** Applies the given versions' statements in order and records them as the driver would. */
export async function applyVersions(raw: RawSql, list: Migration[], versionTableDdl: string): Promise<void> {
  await raw.run(versionTableDdl);
  for (const m of list) {
    for (const statement of m.statements) await raw.run(statement);
    await raw.run(`INSERT INTO stint_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [
      m.version,
      m.name,
      Date.now(),
    ]);
  }
}

/** Fixed times in the past, so a value copied from the wrong column shows. */
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 600);
export interface Seed {
  backend: string;
  /** "running" under v1: attempts 2, started_at `startedAt`, attempt 1's error, an orphaned claim. */
  running: string;
  /** "running" under v1 with no started_at: the claimed row's created_at stands in. */
  noStart: string;
  ready: string;
  failed: string;
  startedAt: number;
  noStartClaimedAt: number;
}

export async function seedVersion1(raw: RawSql): Promise<Seed> {
  const s: Seed = {
    backend: uniqueBackend(),
    running: crypto.randomUUID(),
    noStart: crypto.randomUUID(),
    ready: crypto.randomUUID(),
    failed: crypto.randomUUID(),
    startedAt: T0 + 60_000,
    noStartClaimedAt: T0 + 90_000,
  };
  const job = (id: string, status: string, attempts: number, started: number | null, finished: number | null) =>
    raw.run(
      `INSERT INTO stint_jobs (id, backend, task, queue, priority, payload, status, attempts, scheduled_at,
         started_at, finished_at, created_at, updated_at) VALUES (?, ?, 'upgrade', 'up', 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, s.backend, JSON.stringify({ id }), status, attempts, T0, started, finished, T0, started ?? T0],
    );
  const error = (id: string, attempt: number, at: number) =>
    raw.run(
      `INSERT INTO stint_job_errors (job_id, backend, attempt, error_name, error_message, error_stack, created_at)
       VALUES (?, ?, ?, 'Boom', ?, NULL, ?)`,
      [id, s.backend, attempt, `attempt ${attempt}`, at],
    );
  const claimed = (id: string, at: number) =>
    raw.run(`INSERT INTO stint_claimed_executions (job_id, backend, process_id, created_at) VALUES (?, ?, NULL, ?)`, [
      id,
      s.backend,
      at,
    ]);

  await job(s.running, "running", 2, s.startedAt, null);
  await error(s.running, 1, T0 + 30_000);
  await claimed(s.running, s.startedAt + 7); // not the start: the job's started_at is what is copied

  await job(s.noStart, "running", 1, null, null);
  await claimed(s.noStart, s.noStartClaimedAt);

  await job(s.ready, "ready", 0, null, null);
  await raw.run(
    `INSERT INTO stint_ready_executions (job_id, backend, queue, priority, latency_started_at, created_at)
     VALUES (?, ?, 'up', 0, ?, ?)`,
    [s.ready, s.backend, T0, T0],
  );

  await job(s.failed, "failed", 1, T0 + 10, T0 + 20);
  await error(s.failed, 1, T0 + 20);
  await raw.run(
    `INSERT INTO stint_failed_executions (job_id, backend, error_name, error_message, error_stack, created_at)
     VALUES (?, ?, 'Boom', 'attempt 1', NULL, ?)`,
    [s.failed, s.backend, T0 + 20],
  );
  return s;
}

const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** Everything a job's rows hold that an upgrade could change, as plain values. */
async function rawState(raw: RawSql, id: string): Promise<Row> {
  const [j] = await raw.rows(
    `SELECT status, attempts, started_at, finished_at, updated_at, scheduled_at FROM stint_jobs WHERE id = ?`,
    [id],
  );
  // SELECT *: before the upgrade the claimed table has no attempt column yet.
  const [c] = await raw.rows(`SELECT * FROM stint_claimed_executions WHERE job_id = ?`, [id]);
  const count = async (table: string) =>
    n((await raw.rows(`SELECT COUNT(*) AS k FROM ${table} WHERE job_id = ?`, [id]))[0].k);
  return {
    status: j.status,
    attempts: n(j.attempts),
    startedAt: n(j.started_at),
    finishedAt: n(j.finished_at),
    updatedAt: n(j.updated_at),
    scheduledAt: n(j.scheduled_at),
    claim: c ? { attempt: n(c.attempt), startedAt: n(c.started_at), processId: c.process_id } : null,
    ready: await count("stint_ready_executions"),
    failed: await count("stint_failed_executions"),
    errors: await count("stint_job_errors"),
  };
}

async function listed(driver: Driver, backend: string, status: "running" | "ready" | "failed"): Promise<string[]> {
  return (await driver.jobList({ backend, status, limit: 100 })).map((j) => j.id).sort();
}

/** Migrates `url` (version 1 recorded, `s` written) through the public API and checks the result. */
export async function checkUpgrade(url: string, raw: RawSql, s: Seed): Promise<void> {
  const stint = await createStint({ url, backend: s.backend });
  const { driver, backend } = stint;
  try {
    const untouched = { ready: await rawState(raw, s.ready), failed: await rawState(raw, s.failed) };
    assert.deepEqual(await stint.migrate(), [2, 3]);

    // (a) reads as it did under version 1; its rows are in the new form.
    const running = await stint.getResult(s.running);
    assert.equal(running.status, "running");
    assert.equal(running.attempts, 2);
    assert.equal(running.startedAt?.getTime(), s.startedAt);
    assert.equal(running.finishedAt, null);
    assert.deepEqual(running.errors.map((e) => e.attempt), [1]);
    const runningRows = await rawState(raw, s.running);
    assert.equal(runningRows.status, "ready");
    assert.equal(runningRows.attempts, 1);
    assert.deepEqual(runningRows.claim, { attempt: 2, startedAt: s.startedAt, processId: null });
    assert.equal(runningRows.ready, 0, "a converted claim does not get a ready row");

    // The one v1 left without a start takes the claim's.
    const noStart = await driver.jobGet({ backend, id: s.noStart });
    assert.equal(noStart?.status, "running");
    assert.equal(noStart?.attempts, 1);
    assert.equal(noStart?.startedAt?.getTime(), s.noStartClaimedAt);
    const noStartRows = await rawState(raw, s.noStart);
    assert.equal(noStartRows.status, "ready");
    assert.equal(noStartRows.attempts, 0);
    assert.deepEqual(noStartRows.claim, { attempt: 1, startedAt: s.noStartClaimedAt, processId: null });

    // (b) and (c) untouched.
    assert.deepEqual(await rawState(raw, s.ready), untouched.ready);
    assert.deepEqual(await rawState(raw, s.failed), untouched.failed);
    const ready = await driver.jobGet({ backend, id: s.ready });
    assert.equal(ready?.status, "ready");
    assert.equal(ready?.attempts, 0);
    assert.equal(ready?.startedAt, null);
    const failed = await driver.jobGet({ backend, id: s.failed });
    assert.equal(failed?.status, "failed");
    assert.equal(failed?.attempts, 1);
    assert.deepEqual(failed?.errors.map((e) => e.attempt), [1]);

    assert.deepEqual(await listed(driver, backend, "running"), [s.running, s.noStart].sort());
    assert.deepEqual(await listed(driver, backend, "ready"), [s.ready]);
    assert.deepEqual(await listed(driver, backend, "failed"), [s.failed]);

    // Recovery of the orphans through the driver, as the runtime would.
    const orphans = await driver.claimListOrphaned({ backend });
    assert.deepEqual(
      orphans.map((o) => [o.id, o.attempt]).sort(),
      [[s.running, 2], [s.noStart, 1]].sort(),
    );
    const finishedAt = Date.UTC(2026, 0, 3);
    const error = { name: "ProcessGone", message: "its process is gone", stack: null };
    assert.deepEqual(
      await driver.jobFinishMany({
        backend,
        processId: null,
        outcomes: [{ id: s.running, kind: "failed", error }, { id: s.noStart, kind: "released" }],
        preserveFinished: true,
        now: new Date(finishedAt),
      }).then((ids) => ids.sort()),
      [s.running, s.noStart].sort(),
    );
    const recovered = await driver.jobGet({ backend, id: s.running });
    assert.equal(recovered?.status, "failed");
    assert.equal(recovered?.attempts, 2);
    assert.equal(recovered?.startedAt?.getTime(), s.startedAt);
    assert.equal(recovered?.finishedAt?.getTime(), finishedAt);
    assert.deepEqual(recovered?.errors.map((e) => [e.attempt, e.message]), [
      [1, "attempt 1"],
      [2, "its process is gone"],
    ]);
    const released = await driver.jobGet({ backend, id: s.noStart });
    assert.equal(released?.status, "ready");
    assert.equal(released?.attempts, 0, "a released attempt is not counted");
    assert.deepEqual(await driver.claimListOrphaned({ backend }), []);
    assert.deepEqual(await listed(driver, backend, "ready"), [s.ready, s.noStart].sort());

    assert.deepEqual(await stint.migrate(), [], "a second migrate applies nothing");
    const versions = await raw.rows(`SELECT version FROM stint_schema_migrations ORDER BY version`);
    assert.deepEqual(versions.map((r) => n(r.version)), [1, 2, 3]);
  } finally {
    await stint.close();
  }
}
