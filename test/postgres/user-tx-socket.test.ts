/**
 * enqueue's `tx` from a postgres.js client on the same database reached over
 * the server's Unix socket (Stint over TCP): the same database, so the job is
 * written. The socket's connection has no server port (inet_server_port() is
 * null there), which must not make it look like another server.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import postgres from "postgres";
import { createStint, defineTask } from "../../mod.ts";
import { uniqueBackend } from "../support/harness.ts";
import { pgUrl, rawClient, skip } from "./env.ts";

const note = defineTask("socket_note", () => null);

/** The server's socket directory, or why there is none to use. */
async function socketDir(): Promise<{ dir?: string; skip?: string }> {
  if (skip) return { skip };
  const sql = rawClient();
  try {
    const [row] = await sql.unsafe("SHOW unix_socket_directories");
    const dir = String(row?.unix_socket_directories ?? "").split(",")[0].trim();
    const port = new URL(pgUrl()).port || "5432";
    if (!dir || !existsSync(`${dir}/.s.PGSQL.${port}`)) return { skip: "the server has no Unix socket on this host" };
    return { dir };
  } finally {
    await sql.end();
  }
}

const socket = await socketDir();

test("a tx over the Unix socket of the same server is accepted", { skip: socket.skip }, async () => {
  const url = new URL(pgUrl());
  const stint = await createStint({ url: pgUrl(), backend: uniqueBackend(), tasks: [note] });
  const sql = postgres({
    host: socket.dir,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password) || undefined,
    database: url.pathname.slice(1),
    max: 1,
    onnotice: () => {},
  });
  try {
    await stint.migrate();
    let id = "";
    await sql.begin(async (tx) => {
      id = (await stint.enqueue(note, null, { tx })).id;
    });
    assert.equal((await stint.getResult(id)).status, "ready");
  } finally {
    await sql.end();
    await stint.close();
  }
});
