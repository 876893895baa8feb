import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { QueueSelector } from "../../src/records.ts";
import { ConfigError } from "../../mod.ts";
import { parseSelectors, selectorMatches, selectorRank } from "../../src/selectors.ts";
import { armWhere, likePrefix, selectorArms, substrPrefix } from "../../drivers/engine/selectors.ts";

const all: QueueSelector = { kind: "all" };
const exact = (queue: string): QueueSelector => ({ kind: "exact", queue });
const prefix = (p: string): QueueSelector => ({ kind: "prefix", prefix: p });

describe("parseSelectors", () => {
  test('"*" is all, "x*" a prefix, anything else an exact queue', () => {
    assert.deepEqual(parseSelectors(["*", "mail*", "billing"], "queues"), [all, prefix("mail"), exact("billing")]);
  });

  test("refuses empty, padded, non-string and mid-string wildcard selectors, naming the index", () => {
    for (const [bad, index] of [[[""], 0], [["a", " b"], 1], [["a*b"], 0], [["ok", 5], 1], [["**"], 0]] as const) {
      assert.throws(() => parseSelectors([...bad], "workers[0].queues"), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(`^workers\\[0\\]\\.queues\\[${index}\\]`));
        return true;
      });
    }
  });

  test("selectorMatches is case-sensitive and anchored", () => {
    const selectors = [prefix("mail"), exact("billing")];
    assert.equal(selectorMatches(selectors, "mailer"), true);
    assert.equal(selectorMatches(selectors, "billing"), true);
    assert.equal(selectorMatches(selectors, "MAILER"), false);
    assert.equal(selectorMatches(selectors, "email"), false);
    assert.equal(selectorMatches(selectors, "billing2"), false);
    assert.equal(selectorMatches([all], "anything"), true);
  });
});

describe("selectorArms", () => {
  const where = (selectors: QueueSelector[], match = substrPrefix) =>
    selectorArms(selectors, match).map((arm) => armWhere(arm));

  test("a lone '*' is one arm that matches everything", () => {
    assert.deepEqual(where([all]), [{ sql: "1 = 1", params: [] }]);
  });

  test("a lone exact selector is a plain comparison", () => {
    assert.deepEqual(where([exact("a")]), [{ sql: "r.queue = ?", params: ["a"] }]);
  });

  test("each arm leaves alone the queues earlier selectors match", () => {
    assert.deepEqual(where([exact("a"), prefix("b_"), all]), [
      { sql: "r.queue = ?", params: ["a"] },
      { sql: "SUBSTR(r.queue, 1, ?) = ? AND NOT (r.queue = ?)", params: [2, "b_", "a"] },
      { sql: "1 = 1 AND NOT (r.queue = ?) AND NOT (SUBSTR(r.queue, 1, ?) = ?)", params: ["a", 2, "b_"] },
    ]);
  });

  test("selectors after '*' are dropped", () => {
    const arms = selectorArms([exact("urgent"), all, exact("never")], substrPrefix);
    assert.deepEqual(arms.map((a) => a.selector), [exact("urgent"), all]);
  });

  test("prefix lengths count characters, not UTF-16 units", () => {
    assert.deepEqual(where([prefix("é😀")])[0].params, [2, "é😀"]);
  });

  test("LIKE prefixes escape the wildcards and the escape character", () => {
    assert.deepEqual(where([prefix("a%_!b")], likePrefix), [{ sql: "r.queue LIKE ? ESCAPE '!'", params: ["a!%!_!!b%"] }]);
  });

  test("placeholders and params always agree", () => {
    const selectors = [exact("a"), prefix("b"), exact("c"), prefix("d%_!"), all];
    const count = (s: string) => (s.match(/\?/g) ?? []).length;
    for (const match of [substrPrefix, likePrefix]) {
      for (const w of where(selectors, match)) assert.equal(count(w.sql), w.params.length, w.sql);
    }
  });
});

describe("selectorRank", () => {
  test("is the index of the first selector that matches, or the count when none does", () => {
    const selectors = [exact("urgent"), prefix("mail"), exact("mailer"), all];
    assert.equal(selectorRank(selectors, "urgent"), 0);
    assert.equal(selectorRank(selectors, "mailer"), 1, "the prefix comes first");
    assert.equal(selectorRank(selectors, "other"), 3);
    assert.equal(selectorRank([exact("a")], "b"), 1);
    assert.equal(selectorRank([prefix("Mail")], "mail"), 1, "case-sensitive");
  });
});
