/**
 * A server that answers the connection with a PostgreSQL ErrorResponse before reading
 * anything (PgBouncer at max_client_conn does) speaks PostgreSQL: createStint fails with
 * the server's own message, not "not in the PostgreSQL protocol".
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { createStint, DriverError } from "../../mod.ts";

/** An ErrorResponse: severity FATAL, code 08P01, the message, terminator. */
function errorResponse(message: string): Uint8Array {
  const fields = `SFATAL\0VFATAL\0C08P01\0M${message}\0\0`;
  const body = new TextEncoder().encode(fields);
  const out = new Uint8Array(5 + body.length);
  out[0] = 0x45;
  new DataView(out.buffer).setUint32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

test("an ErrorResponse at connect is reported as the server's message", async () => {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.end(errorResponse("no more connections allowed (max_client_conn)"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    await assert.rejects(
      async () => {
        const stint = await createStint({ url: `postgres://app@127.0.0.1:${port}/app?connect_timeout=5` });
        await stint.close();
      },
      (error: unknown) => {
        assert.ok(error instanceof DriverError, String(error));
        assert.doesNotMatch(error.message, /not in the PostgreSQL protocol/);
        assert.match(error.message, /max_client_conn/);
        return true;
      },
    );
    // The probe and the pool's attempt, not a storm of reconnections.
    assert.ok(connections <= 5, `${connections} connections`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});
