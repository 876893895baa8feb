/** Serves a fetch handler on the runtime at hand (Deno.serve or Bun.serve); returns a stop function. */
export function serve(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { port: number; hostname?: string },
): { port: number; stop: () => Promise<void> } {
  const g = globalThis as any;
  const hostname = options.hostname ?? "127.0.0.1";
  if (g.Deno) {
    const server = g.Deno.serve({ port: options.port, hostname, onListen: () => {} }, fetch);
    return { port: server.addr.port, stop: () => server.shutdown() };
  }
  const server = g.Bun.serve({ port: options.port, hostname, fetch });
  return { port: server.port, stop: () => Promise.resolve(server.stop(true)).then(() => {}) };
}
