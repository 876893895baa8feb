/**
 * Serves a fetch handler on the runtime at hand (Deno.serve, Bun.serve, or
 * node:http on Node, which has no fetch-handler server); resolves once it
 * listens, with the port and a stop function.
 */
type FetchHandler = (request: Request) => Response | Promise<Response>;

export async function serve(
  fetch: FetchHandler,
  options: { port: number; hostname?: string },
): Promise<{ port: number; stop: () => Promise<void> }> {
  const g = globalThis as any;
  const hostname = options.hostname ?? "127.0.0.1";
  if (g.Deno) {
    const server = g.Deno.serve({ port: options.port, hostname, onListen: () => {} }, fetch);
    return { port: server.addr.port, stop: () => server.shutdown() };
  }
  if (g.Bun) {
    const server = g.Bun.serve({ port: options.port, hostname, fetch });
    return { port: server.port, stop: () => Promise.resolve(server.stop(true)).then(() => {}) };
  }
  return await serveNode(fetch, options.port, hostname);
}

/** node:http in front of a fetch handler: the request body is read whole, the response streamed. */
async function serveNode(fetch: FetchHandler, port: number, hostname: string) {
  const { createServer } = await import("node:http");
  const { Buffer } = await import("node:buffer");
  const server = createServer(async (req, res) => {
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        for (const one of [value ?? []].flat()) headers.append(name, one);
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk);
      const method = req.method ?? "GET";
      const body = method === "GET" || method === "HEAD" ? undefined : Buffer.concat(chunks);
      const response = await fetch(new Request(`http://${req.headers.host ?? hostname}${req.url}`, { method, headers, body }));
      const cookies = response.headers.getSetCookie();
      for (const [name, value] of response.headers) if (name !== "set-cookie") res.setHeader(name, value);
      if (cookies.length) res.setHeader("set-cookie", cookies);
      res.writeHead(response.status);
      if (response.body) for await (const chunk of response.body) res.write(chunk);
      res.end();
    } catch (error) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets would hold close() open
      }),
  };
}
