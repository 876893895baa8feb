/**
 * The SSLRequest probe before the pool opens (drivers/postgres/handshake.ts) asks only a
 * host:port the URL names. A URL without a port gets it from PGPORT in postgres.js, so a
 * probe of the default 5432 asked another server than the pool would use: with something
 * that is not PostgreSQL on 5432, createStint was refused although PGPORT pointed at a
 * working server.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import process from "node:process";
import { createStint } from "../../mod.ts";
import { targets } from "../support/targets.ts";

const pg = targets.find((t) => t.name === "postgres")!;

/** A listener on 127.0.0.1:5432 that answers in another protocol, or null when the port is taken. */
function garbageOn5432(): Promise<Server | null> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });
  return new Promise((resolve) => {
    server.once("error", () => resolve(null));
    server.listen(5432, "127.0.0.1", () => resolve(server));
    // close() waits for every connection: end them first.
    const close = server.close.bind(server);
    server.close = (cb?: (err?: Error) => void) => {
      for (const s of sockets) s.destroy();
      return close(cb);
    };
  });
}

test("a URL without a port is not probed on 5432 when PGPORT names the server", async (t) => {
  if (pg.skip) return t.skip(pg.skip);
  const url = new URL(process.env.PG_URL!);
  if (url.hostname !== "127.0.0.1" || !url.port) return t.skip("PG_URL is not 127.0.0.1:<port>");
  const server = await garbageOn5432();
  if (!server) return t.skip("127.0.0.1:5432 is taken");
  const saved = process.env.PGPORT;
  process.env.PGPORT = url.port;
  try {
    const portless = url.href.replace(`127.0.0.1:${url.port}`, "127.0.0.1");
    const stint = await createStint({ url: portless });
    try {
      assert.ok(await stint.stats().then(() => true, () => true)); // opened: the pool reached PGPORT's server
    } finally {
      await stint.close();
    }
  } finally {
    if (saved === undefined) delete process.env.PGPORT;
    else process.env.PGPORT = saved;
    await new Promise((r) => server.close(r));
  }
});
