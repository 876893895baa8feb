/**
 * The fault suite's accounting (test/chaos/account.ts) must not read a job the queue
 * dropped as fine: the suite never discards nor cancels, so a job that ended that way
 * is lost, not silently left out of succeeded + failed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defineTask } from "../../mod.ts";
import { account } from "../chaos/account.ts";
import { targets } from "../support/targets.ts";
import { withStint } from "../support/harness.ts";

const noop = defineTask("chaos_account_noop", () => null);
const libsql = targets.find((t) => t.name === "libsql")!;

test("a discarded or cancelled job counts as lost in the chaos accounting", { skip: libsql.skip }, () =>
  withStint(libsql, { tasks: [noop] }, async (stint) => {
    const discarded = await stint.enqueue(noop, null);
    const cancelled = await stint.enqueue(noop, null);
    await stint.discardJob(discarded.id);
    await stint.cancel(cancelled.id);
    const a = await account(stint, new Set([discarded.id, cancelled.id]), [], () => null);
    assert.equal(a.jobs, 2);
    assert.equal(a.lost, 2, a.examples.join("\n"));
    assert.equal(a.stuck, 0);
  }));
