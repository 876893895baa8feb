/**
 * Before migrate(), every operation says so: a NotMigratedError (code
 * STINT_NOT_MIGRATED) telling to run stint.migrate(), not the database's own
 * "no such table" error; the CLI prints that one line. Each target gets an
 * empty database of its own (the shared servers are migrated by other tests).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { createStint, defineTask, NotMigratedError, type Stint, StintError } from "../../mod.ts";
import { newJobId } from "../../src/ids.ts";
import { type Target, targets } from "../support/targets.ts";
import { uniqueBackend } from "../support/harness.ts";
import * as pg from "../postgres/env.ts";
import * as my from "../mysql/env.ts";

const noop = defineTask("noop", () => null);
const isDeno = "Deno" in globalThis;
const CLI = new URL("../../cli.ts", import.meta.url).pathname;

const fresh: Record<
  Target["dialect"],
  { skip: string | undefined; with: (fn: (url: string) => Promise<void>) => Promise<void> }
> = {
  libsql: {
    skip: undefined,
    async with(fn) {
      const target = targets.find((t) => t.name === "libsql")!;
      const url = await target.url();
      try {
        await fn(url);
      } finally {
        await target.release(url);
      }
    },
  },
  postgres: { skip: await pg.freshDatabaseSkip(), with: pg.withFreshDatabase },
  mysql: { skip: await my.freshDatabaseSkip(), with: my.withFreshDatabase },
};

async function rejectsNotMigrated(what: string, fn: () => Promise<unknown>): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(error instanceof NotMigratedError, `${what}: expected NotMigratedError, got ${String(error)}`);
    assert.ok(error instanceof StintError);
    assert.equal(error.code, "STINT_NOT_MIGRATED");
    assert.match(error.message, /run stint\.migrate\(\)/);
    return true;
  }, what);
}

for (const target of targets) {
  const empty = fresh[target.dialect];
  describe(target.name, { skip: target.skip ?? empty.skip }, () => {
    test("before migrate(), every operation is a NotMigratedError; after it, they work", () =>
      empty.with(async (url) => {
        const stint: Stint = await createStint({ url, backend: uniqueBackend(), tasks: [noop] });
        try {
          await rejectsNotMigrated("enqueue", () => stint.enqueue(noop, null));
          await rejectsNotMigrated("enqueueAll", () => stint.enqueueAll([{ task: noop }]));
          await rejectsNotMigrated("getResult", () => stint.getResult(newJobId()));
          await rejectsNotMigrated("start", () => stint.start({ mode: "async" }));
          await rejectsNotMigrated("stats", () => stint.stats());
          await rejectsNotMigrated("health", () => stint.health());
          await rejectsNotMigrated("listJobs", () => stint.listJobs("failed"));
          await rejectsNotMigrated("jobs", () => stint.jobs({ where: { userId: 7 } }));
          await rejectsNotMigrated("queues", () => stint.queues());
          await rejectsNotMigrated("pause", () => stint.queue("default").pause());
          await rejectsNotMigrated("prune", () => stint.prune());

          await stint.migrate();
          const { id } = await stint.enqueue(noop, null);
          assert.equal((await stint.getResult(id)).status, "ready");
        } finally {
          await stint.close();
        }
      }));

    test("the CLI says to run `stint migrate` in one line, and exits non-zero", () =>
      empty.with((url) => {
        const args = isDeno ? ["run", "-A", CLI, "stats", "--url", url] : [CLI, "stats", "--url", url];
        const run = spawnSync(process.execPath, args, {
          env: { ...process.env, NO_COLOR: "1", STINT_CONFIG: "" },
          encoding: "utf8",
          timeout: 60_000,
        });
        assert.notEqual(run.status, 0, run.stderr);
        const lines = run.stderr.trim().split("\n");
        assert.equal(lines.length, 1, run.stderr);
        assert.match(lines[0], /stint migrate/);
        assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack");
        return Promise.resolve();
      }));
  });
}
