/**
 * The code that runs inside a Web Worker isolate. It imports the tasks module
 * by URL, then runs handlers on request. Every job is wrapped in try/catch and
 * answered with a structured result: an uncaught error would kill the isolate
 * (and, on Deno, the whole process unless the main thread prevents it).
 *
 * JSON crosses the boundary as text, once each way: the payload's text is
 * parsed here, and the result is checked and stringified here by resultJson
 * (execute.ts, as in async mode); the main thread stores that text as it is.
 *
 * A job starts only through the gate shared with the main thread (see
 * isolate-pool.ts): once the main thread has given up on this isolate, jobs
 * still in its message queue are never started, even when terminate() could
 * not stop the thread (Deno, a synchronous loop).
 */
import { JobCancelledError, JobTimeoutError, safeErrorInfo } from "../errors.ts";
import { collectTasks, type Task } from "../task.ts";
import { resultJson } from "../json.ts";
import type { FromIsolate, ToIsolate } from "./protocol.ts";

// A Web Worker's global scope; typed loosely so this file needs no DOM/worker lib.
const scope = globalThis as unknown as {
  postMessage(message: FromIsolate): void;
  addEventListener(type: "message", listener: (event: { data: ToIsolate }) => void): void;
};

let tasks = new Map<string, Task>();
let gate = new Int32Array(new SharedArrayBuffer(4));
const running = new Map<string, AbortController>();

function post(message: FromIsolate): void {
  scope.postMessage(message);
}

async function init(tasksUrl: string, shared: SharedArrayBuffer): Promise<void> {
  gate = new Int32Array(shared);
  try {
    tasks = collectTasks(await import(tasksUrl), `tasks module ${tasksUrl}`);
    post({ type: "ready", tasks: [...tasks.keys()] });
  } catch (error) {
    post({ type: "init-failed", error: safeErrorInfo(error) });
  }
}

async function run(message: Extract<ToIsolate, { type: "run" }>): Promise<void> {
  const controller = new AbortController();
  running.set(message.id, controller);
  try {
    const task = tasks.get(message.task);
    if (!task) throw new Error(`no task named ${JSON.stringify(message.task)} in the isolate's tasks module`);
    const value = await task.handler!(JSON.parse(message.payload), {
      signal: controller.signal,
      jobId: message.id,
      attempt: message.attempt,
      task: message.task,
      queue: message.queue,
    });
    post({ type: "result", id: message.id, ok: true, json: resultJson(message.task, value) });
  } catch (error) {
    post({ type: "result", id: message.id, ok: false, error: safeErrorInfo(error) });
  } finally {
    running.delete(message.id);
  }
}

/** Raises the gate to `seq` unless the main thread closed it (-1): true when the job may start. */
function pass(seq: number): boolean {
  for (;;) {
    const current = Atomics.load(gate, 0);
    if (current === -1) return false;
    if (Atomics.compareExchange(gate, 0, current, Math.max(current, seq)) === current) return true;
  }
}

function abortReason(message: Extract<ToIsolate, { type: "abort" }>): Error {
  if (message.kind === "cancel") return new JobCancelledError(message.id);
  if (message.kind === "timeout") {
    const error = new JobTimeoutError(0);
    error.message = message.message;
    return error;
  }
  const error = new Error(message.message);
  error.name = "ShutdownSignal";
  return error;
}

scope.addEventListener("message", (event) => {
  const message = event.data;
  switch (message.type) {
    case "init":
      void init(message.tasksUrl, message.gate);
      break;
    case "run":
      if (pass(message.seq)) void run(message);
      // Given up on: this isolate is terminated, or should be (see above).
      else (globalThis as { close?: () => void }).close?.();
      break;
    case "abort":
      running.get(message.id)?.abort(abortReason(message));
      break;
    case "ping":
      post({ type: "pong", n: message.n });
      break;
  }
});
