/**
 * Bad input to multi-step jobs and the durable calls (DESIGN §10, issue 14
 * item 10): each a clear typed error, and nothing written. A workspace that is
 * not a JSON object is an EnqueueError (no row); an empty step list, a step
 * that is not a function and an unknown hook are ConfigErrors; bad names of
 * durable calls are StepErrors that fail the attempt with nothing stored.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defineTask, EnqueueError, type Stint } from "../../mod.ts";
import { scenarioTargets, targets } from "../support/targets.ts";
import { allJobs, modesFor, withSteps } from "../support/steps.ts";
import { waitForStatus } from "../support/wait.ts";

const T = { timeout: 30_000 };
const ENDED = ["succeeded", "failed", "cancelled", "discarded"] as const;

async function rows(stint: Stint): Promise<number> {
  return (await allJobs(stint)).length;
}

describe("defineTask: steps and hooks", () => {
  test("an empty step list, or one holding a non-function, is a ConfigError", () => {
    assert.throws(() => defineTask("empty", []), ConfigError);
    assert.throws(() => defineTask("empty", []), /at least one step/);
    for (const bad of [null, 5, "step", {}, undefined]) {
      assert.throws(() => defineTask("bad_step", [() => 1, bad as never]), ConfigError, String(bad));
    }
    assert.throws(() => defineTask("bad_step", [() => 1, 5 as never]), /step 2/);
  });

  test("unknown hook names, and hooks that are not functions, are ConfigErrors", () => {
    assert.throws(() => defineTask("h", () => 1, { hooks: { onStart() {} } as never }), ConfigError);
    assert.throws(() => defineTask("h", () => 1, { hooks: { onStart() {} } as never }), /onStart/);
    assert.throws(() => defineTask("h", () => 1, { hooks: { onfailure() {} } as never }), ConfigError);
    assert.throws(() => defineTask("h", () => 1, { hooks: { before: "yes" } as never }), ConfigError);
    assert.throws(() => defineTask("h", () => 1, { hooks: [] as never }), ConfigError);
    assert.throws(() => defineTask("h", [() => 1], { hooks: null as never }), ConfigError);
  });

  test("a step whose function name is longer than 200 characters is a ConfigError", () => {
    const long = Object.defineProperty(() => 1, "name", { value: "n".repeat(201) });
    assert.throws(() => defineTask("long_step", [long]), ConfigError);
    const fine = Object.defineProperty(() => 1, "name", { value: "n".repeat(200) });
    assert.equal(defineTask("long_step", [fine]).steps?.[0].name.length, 200);
  });

  test("two steps of one name are a ConfigError", () => {
    assert.throws(() => defineTask("dup", [function a() {}, function a() {}]), ConfigError);
  });

  test("good hooks and steps are accepted", () => {
    const t = defineTask("ok", [function a() {}, () => 1], {
      hooks: { before() {}, after() {}, onFailure() {}, onEnqueue() {} },
    });
    assert.deepEqual(t.steps?.map((s) => s.name), ["a", "step2"]);
  });
});

for (const target of scenarioTargets(targets)) {
  describe(target.name, { skip: target.skip }, () => {
    describe("enqueue: a multi-step task's workspace", () => {
      test(
        "a payload that is not a JSON object is an EnqueueError, and nothing is written",
        T,
        () =>
          withSteps(target, {}, async (stint, dir) => {
            await stint.enqueue("quick", { dir });
            const before = await rows(stint);
            assert.equal(before, 1);
            for (const bad of [null, undefined, 5, "ws", true, [], [{ dir }]]) {
              await assert.rejects(stint.enqueue("steps3", bad as never), EnqueueError, JSON.stringify(bad));
              await assert.rejects(stint.enqueue("steps3", bad as never), /JSON object/);
            }
            await assert.rejects(
              stint.enqueueAll([{ task: "steps3", payload: { dir, trail: [] } }, { task: "steps3", payload: [1] }]),
              EnqueueError,
            );
            assert.equal(await rows(stint), before, "no row was written");
            // A good one is accepted.
            await stint.enqueue("steps3", { dir, trail: [] });
            assert.equal(await rows(stint), before + 1);
          }),
      );
    });

    for (const mode of modesFor(target)) {
      describe(`durable calls with bad arguments (${mode} mode)`, () => {
        test(
          "bad names (not a string, empty, longer than 200) are StepErrors; nothing is stored",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              for (const kind of ["name-number", "name-empty", "name-long", "sleep-name-long"]) {
                const { id } = await stint.enqueue("misuse", { dir, kind });
                const r = await waitForStatus(stint, id, [...ENDED], 10_000);
                assert.equal(r.status, "failed", kind);
                assert.equal(r.error?.name, "StepError", `${kind}: ${r.error?.message}`);
                assert.equal((await stint.driver.stepList({ backend: stint.backend, jobId: id })).size, 0, kind);
              }
            }),
        );

        test(
          "a step leaving a non-JSON workspace fails the attempt with a ResultError",
          T,
          () =>
            withSteps(target, { mode }, async (stint, dir) => {
              const { id } = await stint.enqueue("bad_workspace", { dir, trail: [] });
              const r = await waitForStatus(stint, id, [...ENDED], 10_000);
              assert.equal(r.status, "failed");
              assert.equal(r.error?.name, "ResultError", String(r.error?.message));
              const step = (r as unknown as { step: { index: number } }).step;
              assert.equal(step.index, 0, "it never advanced");
            }),
        );
      });
    }
  });
}
