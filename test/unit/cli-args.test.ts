/** The CLI's error line: one line, and no password from a database URL, however it got into the message. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { errorLine, passwordsOf } from "../../src/cli-args.ts";

test("errorLine folds lines and masks user:password@ in any URL", () => {
  assert.equal(
    errorLine('url: "ftp://user:pw@host/x" is not valid\n  at somewhere'),
    'url: "ftp://user:***@host/x" is not valid at somewhere',
  );
  assert.equal(errorLine("postgres://u:p%40ss@h:5432/db and mysql://a:b@c"), "postgres://u:***@h:5432/db and mysql://a:***@c");
  assert.equal(errorLine("libsql://host/db?authToken=x"), "libsql://host/db?authToken=x", "no userinfo, nothing to mask");
  assert.equal(errorLine("postgres://user@host/db"), "postgres://user@host/db", "a user without a password stays");
});

test("errorLine masks a known password wherever it appears, raw or decoded", () => {
  const secrets = passwordsOf("postgres://u:s%40cret-pw@127.0.0.1:1/x");
  assert.deepEqual(secrets, ["s%40cret-pw", "s@cret-pw"]);
  assert.equal(errorLine("auth failed for password s@cret-pw (s%40cret-pw)", secrets), "auth failed for password *** (***)");
  assert.deepEqual(passwordsOf("postgres://u@h/x"), []);
  assert.deepEqual(passwordsOf(undefined), []);
  assert.deepEqual(passwordsOf("mysql://u:%E0%A4%A@h/x"), ["%E0%A4%A"], "a malformed escape is masked as written");
});
