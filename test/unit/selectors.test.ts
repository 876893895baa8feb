import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { QueueSelector } from "../../src/driver.ts";
import { ConfigError } from "../../mod.ts";
import { parseSelectors, selectorMatches } from "../../src/selectors.ts";
import { selectorRank, selectorSql } from "../../drivers/sql/selectors.ts";

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

describe("selectorSql", () => {
  test("a lone '*' matches everything and needs no rank", () => {
    assert.deepEqual(selectorSql([all], "q"), { where: "1 = 1", whereParams: [], rank: null, rankParams: [] });
  });

  test("a lone exact selector is a plain comparison", () => {
    assert.deepEqual(selectorSql([exact("a")], "r.queue"), {
      where: "(r.queue = ?)",
      whereParams: ["a"],
      rank: null,
      rankParams: [],
    });
  });

  test("several selectors rank in order, with unmatched queues last", () => {
    const sql = selectorSql([exact("a"), prefix("b_")], "q");
    assert.equal(sql.where, "(q = ? OR SUBSTR(q, 1, ?) = ?)");
    assert.deepEqual(sql.whereParams, ["a", 2, "b_"]);
    assert.equal(sql.rank, "CASE WHEN q = ? THEN 0 WHEN SUBSTR(q, 1, ?) = ? THEN 1 ELSE 2 END");
    assert.deepEqual(sql.rankParams, ["a", 2, "b_"]);
  });

  test("selectors after '*' are dropped and '*' becomes the ELSE rank", () => {
    const sql = selectorSql([exact("urgent"), all, exact("never")], "q");
    assert.equal(sql.where, "1 = 1");
    assert.deepEqual(sql.whereParams, []);
    assert.equal(sql.rank, "CASE WHEN q = ? THEN 0 ELSE 1 END");
    assert.deepEqual(sql.rankParams, ["urgent"]);
  });

  test("prefix lengths count characters, not UTF-16 units", () => {
    assert.deepEqual(selectorSql([prefix("é😀")], "q").whereParams, [2, "é😀"]);
  });

  test("placeholders and params always agree", () => {
    const selectors = [exact("a"), prefix("b"), exact("c"), prefix("d%_!"), all];
    const sql = selectorSql(selectors, "q");
    const count = (s: string) => (s.match(/\?/g) ?? []).length;
    assert.equal(count(sql.where), sql.whereParams.length);
    assert.equal(count(sql.rank!), sql.rankParams.length);
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
