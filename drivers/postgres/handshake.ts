/**
 * One TCP connection that asks the server whether it speaks PostgreSQL before
 * the pool opens any: an SSLRequest, to which every PostgreSQL server (and
 * PgBouncer, and the managed poolers) answers with one byte, "S" or "N", or
 * with an error it sends before reading anything (see spokenBy).
 *
 * Why: postgres.js connects again at once, without back-off, when a connection
 * closes before the server's first answer while a query waits. Pointed at a
 * port that speaks another protocol, the pool's first query opened about 400
 * connections a second until the connect timeout. This check makes that one.
 *
 * Only for a single TCP host (sockets and host lists go straight to the pool),
 * and only where node:net exists (loaded lazily, so a runtime without it skips
 * the check and keeps the pool's own timeout). That is also what keeps the edge
 * client (client.ts) whole where node:net is missing: workerd without
 * nodejs_compat rejects the import, and a bundler's empty stand-in for it has no
 * `connect`; both read as "skipped". (With nodejs_compat, workerd has a node:net
 * over cloudflare:sockets, and the check runs there too.)
 */
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** "unreachable": no TCP connection within the timeout (a firewall dropping packets); "timeout": connected, no answer. */
export type Handshake = "postgres" | "other" | "closed" | "timeout" | "unreachable" | "skipped";

export async function handshake(host: string, port: number, timeoutMs: number): Promise<Handshake> {
  let net: typeof import("node:net");
  try {
    net = await import("node:net");
  } catch {
    return "skipped";
  }
  if (typeof net?.connect !== "function") return "skipped";
  return new Promise((resolve) => {
    let answered = false;
    let connected = false;
    const socket = net.connect({ host, port });
    const done = (result: Handshake) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(connected ? "timeout" : "unreachable"), timeoutMs);
    // A refused or unreachable host is the pool's to report (it names the reason).
    socket.once("error", () => done("skipped"));
    socket.once("connect", () => {
      connected = true;
      socket.write(SSL_REQUEST);
    });
    socket.once("data", (data: Uint8Array) => done(spokenBy(data)));
    socket.once("close", () => done("closed"));
  });
}

/**
 * "S" or "N"; or an ErrorResponse ("E", then its length): PgBouncer at max_client_conn
 * (or a postmaster that cannot fork) says why at once, before reading anything. That is
 * PostgreSQL speaking: the pool's attempt reports the server's own message.
 */
function spokenBy(data: Uint8Array): Handshake {
  if (data.length === 1 && (data[0] === 0x53 || data[0] === 0x4e)) return "postgres";
  if (data.length >= 5 && data[0] === 0x45) {
    const length = ((data[1] << 24) | (data[2] << 16) | (data[3] << 8) | data[4]) >>> 0;
    if (length >= 4 && length < 65536) return "postgres";
  }
  return "other";
}
