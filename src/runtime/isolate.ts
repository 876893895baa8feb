/**
 * The code that runs inside a Web Worker isolate. It imports the tasks module
 * by URL, then runs jobs on request. Every job is wrapped in try/catch and
 * answered with a structured result: an uncaught error would kill the isolate
 * (and, on Deno, the whole process unless the main thread prevents it).
 *
 * A job runs through the same code as in async mode (execute.ts): a JobContext
 * (durable.ts), and runBody (body.ts) for a task with steps or hooks, else the
 * direct handler call. Its durable calls ask the main thread by message (a
 * "call" answered by a "reply", protocol.ts): the isolate opens no connection
 * to the queue. A job that makes no durable call sends nothing but its result.
 *
 * JSON crosses the boundary as text, once each way: the payload's text is
 * parsed here, and the result is checked and stringified here by resultJson
 * (as in async mode); the main thread stores that text as it is.
 *
 * The job is answered only once its handler is done with it: after an abort
 * (timeout, cancel, shutdown) the handler still running is waited for, as the
 * main thread waits for the answer before it writes the outcome (the pool
 * terminates the isolate when that takes longer than the grace). A suspended
 * job (ctx.sleep, ctx.join) is answered at once: its handler never settles.
 *
 * A job starts only through the gate shared with the main thread (see
 * isolate-pool.ts): once the main thread has given up on this isolate, jobs
 * still in its message queue are never started, even when terminate() could
 * not stop the thread (Deno, a synchronous loop).
 */
import { EnqueueError, JobCancelledError, JobTimeoutError, safeErrorInfo, StepError, SuspendSignal } from "../errors.ts";
import { collectTasks, type StepFunction, type Task } from "../task.ts";
import type { TaskContext } from "../task-context.ts";
import { jsonProblem, resultJson } from "../json.ts";
import type { ClaimedJob } from "../records.ts";
import type { JobResult } from "../result.ts";
import { isThenable, JobAbort } from "./abort.ts";
import { type BodyResult, NOT_AWAITED, runBody } from "./body.ts";
import { JobContext, type JobServices } from "./durable.ts";
import { errorFromInfo, type FromIsolate, type ServiceOp, type ToIsolate } from "./protocol.ts";

// A Web Worker's global scope; typed loosely so this file needs no DOM/worker lib.
const scope = globalThis as unknown as {
  postMessage(message: FromIsolate): void;
  addEventListener(type: "message", listener: (event: { data: ToIsolate }) => void): void;
};

type RunMessage = Extract<ToIsolate, { type: "run" }>;

interface Running {
  abort: JobAbort;
  /** What the step function or handler returned (tasks with steps or hooks): see `tracked`. */
  handler?: unknown;
}

let tasks = new Map<string, Task>();
let gate = new Int32Array(new SharedArrayBuffer(4));
const running = new Map<string, Running>();
/** Durable calls waiting for the main thread's reply, by number. */
const calls = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
let callCount = 0;

function post(message: FromIsolate): void {
  scope.postMessage(message);
}

/** Asks the main thread to run `op` for job `id`; settles with its reply. */
function ask(id: string, op: ServiceOp, args: unknown[]): Promise<unknown> {
  const n = ++callCount;
  return new Promise((resolve, reject) => {
    calls.set(n, { resolve, reject });
    try {
      post({ type: "call", id, n, op, args });
    } catch (error) {
      // Only a spawn's options can fail to clone (a function in them): refused as enqueue refuses bad options.
      calls.delete(n);
      const why = `spawn ${JSON.stringify(args[0])}: its options cannot be sent to the main thread`;
      reject(op === "spawn" ? new EnqueueError(`${why}: ${(error as Error)?.message}`, { cause: error }) : error);
    }
  });
}

/** The durable calls' side in an isolate: every one is a question to the main thread (services.ts answers). */
const services: JobServices = {
  // A Map crosses as an array of pairs.
  stepList: async (job) => new Map(await ask(job.id, "stepList", []) as Array<[string, string]>),
  stepSave: (job, name, value) => ask(job.id, "stepSave", [name, value]) as Promise<string>,
  spawn(job, name, task, payload, options) {
    // Checked here as enqueue checks it: a structured clone would turn a class instance into a plain object.
    const problem = jsonProblem(payload === undefined ? null : payload, "payload");
    if (problem) return Promise.reject(new EnqueueError(`spawn ${JSON.stringify(name)}: ${task}: ${problem}`));
    return ask(job.id, "spawn", [name, task, payload, options]) as Promise<string>;
  },
  // Their Dates survive the structured clone.
  results: (job, ids) => ask(job.id, "results", [ids]) as Promise<Array<JobResult | null>>,
  // Already JSON text (ctx.progress checked it); an unanswered call (the job gone) is no failure.
  progress: (job, value) => ask(job.id, "progress", [value]).catch(() => false),
};

/**
 * A task with steps or hooks, its step functions (or handler) wrapped to note
 * what they return: runBody stops waiting for them at an abort, and the job is
 * answered only once that has settled too.
 */
function tracked(task: Task): Task {
  if (!task.steps && !task.hooks) return task;
  const note = (fn: StepFunction): StepFunction => (input: unknown, ctx: TaskContext) => {
    const value = fn(input, ctx);
    const job = running.get(ctx.jobId);
    if (job) job.handler = value;
    return value;
  };
  return Object.freeze({
    ...task,
    handler: task.handler && note(task.handler),
    steps: task.steps && task.steps.map((step) => Object.freeze({ name: step.name, fn: note(step.fn) })),
  });
}

async function init(tasksUrl: string, shared: SharedArrayBuffer): Promise<void> {
  gate = new Int32Array(shared);
  try {
    tasks = new Map([...collectTasks(await import(tasksUrl), `tasks module ${tasksUrl}`)].map(([k, t]) => [k, tracked(t)]));
    post({ type: "ready", tasks: [...tasks.keys()] });
  } catch (error) {
    post({ type: "init-failed", error: safeErrorInfo(error) });
  }
}

/** Once aborted for any reason but a suspension, waits for what the handler returned to settle. */
async function handlerDone(value: unknown, abort: JobAbort): Promise<void> {
  if (!abort.aborted || abort.reason instanceof SuspendSignal || !isThenable(value)) return;
  await new Promise<void>((resolve) => value.then(() => resolve(), () => resolve()));
}

/** One attempt of the job, as execute.ts runs it in async mode. */
async function attempt(message: RunMessage, job: Running): Promise<BodyResult> {
  const { abort } = job;
  let ctx: JobContext | undefined;
  try {
    const task = tasks.get(message.task);
    if (!task) throw new Error(`no task named ${JSON.stringify(message.task)} in the isolate's tasks module`);
    // The run message holds the ClaimedJob fields JobContext and runBody read; the claim stays on the main thread.
    ctx = new JobContext(message as unknown as ClaimedJob, abort, services);
    if (!task.handler || task.hooks) {
      const body = await runBody(task, ctx, abort);
      if (body.kind === "thrown") await handlerDone(job.handler, abort);
      // As in async mode, an abort decides (a handler that slept without awaiting it is suspended).
      else if (abort.aborted) return { kind: "thrown", error: abort.reason, hookErrors: body.hookErrors };
      return body;
    }
    let value = task.handler(JSON.parse(message.payload), ctx);
    if (isThenable(value)) {
      const returned = value;
      try {
        value = await abort.race(returned);
      } catch (error) {
        await handlerDone(returned, abort);
        throw error;
      }
    }
    if (abort.aborted) throw abort.reason;
    if (ctx.pending > 0) throw new StepError(NOT_AWAITED);
    return { kind: "ok", json: resultJson(message.task, value) };
  } catch (error) {
    return { kind: "thrown", error };
  } finally {
    ctx?.close();
    // Stored before the outcome is posted: the main thread removes the claim that guards it only then.
    const progress = ctx?.flushProgress();
    if (progress) await progress;
  }
}

async function run(message: RunMessage): Promise<void> {
  const { id } = message;
  const job: Running = { abort: new JobAbort() };
  running.set(id, job);
  const result = await attempt(message, job);
  running.delete(id);
  let answer: FromIsolate;
  if (result.kind === "ok") {
    answer = result.workspace === undefined
      ? { type: "result", id, ok: true, json: result.json }
      : { type: "result", id, ok: true, json: result.json, workspace: result.workspace };
  } else if (result.kind === "advance") {
    answer = { type: "advance", id, workspace: result.workspace, step: result.step };
  } else {
    // The abort's reason is this isolate's own object: reading it cannot throw, unlike what a handler threw.
    const reason = job.abort.reason;
    answer = reason instanceof SuspendSignal
      ? {
        type: "result",
        id,
        ok: false,
        error: safeErrorInfo(reason),
        suspend: reason.until !== null ? { until: reason.until } : { children: reason.children! },
      }
      : { type: "result", id, ok: false, error: safeErrorInfo(result.error) };
  }
  if (result.hookErrors) answer.hookErrors = result.hookErrors.map(safeErrorInfo);
  post(answer);
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
      running.get(message.id)?.abort.abort(abortReason(message));
      break;
    case "reply": {
      const call = calls.get(message.n);
      if (!call) break;
      calls.delete(message.n);
      if (message.ok) call.resolve(message.value);
      else call.reject(errorFromInfo(message.error));
      break;
    }
    case "ping":
      post({ type: "pong", n: message.n });
      break;
  }
});
