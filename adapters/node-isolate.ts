/**
 * The first module of a worker-mode isolate on Node (adapters/node.ts starts
 * it on a node:worker_threads thread). It gives the thread the global shape of
 * a Web Worker over parentPort — postMessage, addEventListener("message"),
 * close — and then runs src/runtime/isolate.ts, which knows only that shape.
 */
import process from "node:process";
import { parentPort, workerData } from "node:worker_threads";

const port = parentPort!;
Object.assign(globalThis, {
  postMessage: (message: unknown) => port.postMessage(message),
  // Messages posted before this listener exists wait in the port: it starts once one is attached.
  addEventListener(type: string, listener: (event: { data: unknown }) => void) {
    if (type === "message") port.on("message", (data: unknown) => listener({ data }));
  },
  // process.exit() in a worker thread ends that thread only, as close() ends a Web Worker.
  close: () => process.exit(0),
});

await import((workerData as { url: string }).url);
