/** The PostgreSQL driver fails fast, naming host and port, and checks what it is given. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, DriverError, StintError } from "../../mod.ts";
import { freshDatabaseSkip, pgUrl, rawClient, skip, withFreshDatabase } from "./env.ts";

async function rejectsNaming(url: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(createStint({ url }), (error: unknown) => {
    assert.ok(error instanceof DriverError, `expected DriverError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /s3cret/, "the password must not appear in the message");
    return true;
  });
}

const freshSkip = await freshDatabaseSkip();

describe("postgres urls", { skip }, () => {
  test("an unparsable url is refused, naming it without the password", () =>
    rejectsNaming("postgres://app:s3cret@db.example:port/app", /invalid PostgreSQL URL/, /db\.example:port/));

  test("a closed port fails at creation, naming host and port", () =>
    rejectsNaming(
      "postgresql://app:s3cret@127.0.0.1:1/app",
      /cannot connect to PostgreSQL at 127\.0\.0\.1:1\b/,
      /refused/,
    ));

  test("a host that does not resolve fails at creation, naming it", () =>
    rejectsNaming("postgres://app:s3cret@no-such-host.invalid:5432/app", /no-such-host\.invalid:5432/, /unknown host/));
});

describe("postgres server", { skip }, () => {
  test("a database that does not exist is named, with the server", () => {
    const url = new URL(pgUrl());
    url.pathname = "/stint_no_such_database";
    url.password = "s3cret";
    return rejectsNaming(
      url.href,
      new RegExp(`at ${url.hostname.replaceAll(".", "\\.")}:${url.port}`),
      /stint_no_such_database/,
    );
  });

  test("a tx that is not a postgres.js transaction is refused and nothing is written", async () => {
    const stint = await createStint({ url: pgUrl(), backend: `t_${crypto.randomUUID().slice(0, 8)}` });
    try {
      await stint.migrate();
      await assert.rejects(stint.enqueue("some_task", {}, { tx: { execute() {} } }), (error: unknown) => {
        assert.ok(error instanceof StintError, String(error));
        assert.match((error as Error).message, /postgres\.js transaction/);
        return true;
      });
      assert.equal(await stint.queue("default").size(), 0);
    } finally {
      await stint.close();
    }
  });

  test(
    "the queue's own statements carry the statement timeout",
    { skip: freshSkip },
    () =>
      withFreshDatabase(async (url) => {
        const stint = await createStint({ url, statementTimeout: "200ms" });
        const raw = rawClient(url);
        try {
          await stint.migrate();
          // Another session holds the pauses table, so pausing waits on its lock until the timeout cancels it.
          await raw.begin(async (tx) => {
            await tx.unsafe("LOCK TABLE stint_pauses IN ACCESS EXCLUSIVE MODE");
            await assert.rejects(stint.queue("mail").pause(), (error: unknown) => {
              assert.equal((error as { code?: string }).code, "57014", String(error)); // query_canceled
              assert.match((error as Error).message, /statement timeout/);
              return true;
            });
          });
          await stint.queue("mail").pause();
          assert.equal(await stint.queue("mail").isPaused(), true);
        } finally {
          await raw.end();
          await stint.close();
        }
      }),
  );
});
