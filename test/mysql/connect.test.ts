/** The MySQL driver fails fast, naming the host, on bad URLs and unreachable servers. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, DriverError } from "../../mod.ts";
import { mysqlUrl, skip } from "./env.ts";

async function rejectsNaming(url: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(createStint({ url }), (error: unknown) => {
    assert.ok(error instanceof DriverError, `expected DriverError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /s3cret/, "the password must not appear in the message");
    return true;
  });
}

describe("mysql urls", () => {
  test("an unparsable url names its host part and not the password", () =>
    rejectsNaming("mysql://app:s3cret@db.example:port/app", /cannot parse/, /db\.example:port/));

  test("a url without a database is refused before connecting", () =>
    rejectsNaming("mysql://app:s3cret@127.0.0.1:3306/", /127\.0\.0\.1:3306/, /must name one database/));

  test("an unknown url option is refused with the known ones listed", () =>
    rejectsNaming(
      "mysql://app:s3cret@127.0.0.1:3306/app?poolsize=3",
      /unknown url option "poolsize"/,
      /connectionLimit/,
    ));

  test("a closed port fails at creation, naming host and port", () =>
    rejectsNaming("mysql://app:s3cret@127.0.0.1:1/app", /cannot connect to 127\.0\.0\.1:1/, /refused/));

  test("a host that does not resolve fails at creation, naming it", () =>
    rejectsNaming(
      "mysql://app:s3cret@no-such-host.invalid:3306/app?connectTimeout=2000",
      /no-such-host\.invalid:3306/,
    ));
});

describe("mysql server", { skip }, () => {
  test("a wrong password is an access-denied DriverError naming the server", () => {
    const url = new URL(mysqlUrl());
    url.password = "s3cret";
    return rejectsNaming(
      url.href,
      new RegExp(`cannot connect to ${url.hostname.replaceAll(".", "\\.")}:${url.port}`),
      /access denied/i,
    );
  });

  test("a database that does not exist is named", () => {
    const url = new URL(mysqlUrl());
    url.pathname = "/stint_no_such_database";
    return rejectsNaming(url.href, /stint_no_such_database/);
  });
});
