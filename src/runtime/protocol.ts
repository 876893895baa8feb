/**
 * Messages between the main thread and a Web Worker isolate. The isolate only
 * runs handlers: it never touches the queue's database (a terminated worker
 * must never leave the queue's tables locked). A handler's durable calls
 * (ctx.step, ctx.sleep, ctx.spawn, ctx.join) reach the queue by asking the
 * main thread ("call"), which answers ("reply") for the job it handed over.
 *
 *   main ──run──▶ isolate ──call n──▶ main ──reply n──▶ isolate … ──result/advance──▶ main
 *
 * A job that makes no durable call costs one message each way, as before.
 */
import {
  ConfigError,
  DriverError,
  EnqueueError,
  type ErrorInfo,
  JobCancelledError,
  ResultError,
  StepError,
} from "../errors.ts";

export type AbortKind = "timeout" | "cancel" | "shutdown";

/** What the isolate's JobServices asks of the main thread (durable.ts), for one job. */
export type ServiceOp = "stepList" | "stepSave" | "spawn" | "results" | "progress";

/** A suspended job's SuspendSignal, as it crosses back (rebuilt on the main thread). */
export type Suspension = { until: number } | { children: string[] };

export type ToIsolate =
  /** `gate`: one Int32 the isolate raises to a job's seq as it starts it; -1 once the main thread gave up on it. */
  | { type: "init"; tasksUrl: string; gate: SharedArrayBuffer }
  /**
   * The ClaimedJob fields its body reads. `payload` (and `workspace`): the JSON text as stored;
   * the isolate parses it, the main thread never does. The claim stays on the main thread,
   * which answers the job's durable calls with its own copy of the job.
   */
  | {
    type: "run";
    seq: number;
    id: string;
    task: string;
    queue: string;
    attempt: number;
    payload: string;
    workspace: string | null | undefined;
    step: string | null | undefined;
    parentId: string | null | undefined;
  }
  | { type: "abort"; id: string; kind: AbortKind; message: string }
  | { type: "ping"; n: number }
  /** The answer to call `n`: its value (a Map as an array of pairs), or the error with its name and message. */
  | { type: "reply"; n: number; ok: true; value: unknown }
  | { type: "reply"; n: number; ok: false; error: ErrorInfo };

export type FromIsolate =
  | { type: "ready"; tasks: string[] }
  | { type: "init-failed"; error: ErrorInfo }
  /**
   * `json`: the result's JSON text, checked in the isolate and stored by the main thread as it is;
   * `workspace`: a multi-step job's final workspace. `hookErrors`: what its hooks threw (reported, never failing it).
   */
  | { type: "result"; id: string; ok: true; json: string; workspace?: string; hookErrors?: ErrorInfo[] }
  /** `suspend`: the job slept or joined (the error is its SuspendSignal). */
  | { type: "result"; id: string; ok: false; error: ErrorInfo; suspend?: Suspension; hookErrors?: ErrorInfo[] }
  /** A multi-step job's step returned and more follow: its workspace and the next position. */
  | { type: "advance"; id: string; workspace: string; step: string; hookErrors?: ErrorInfo[] }
  /** A durable call of job `id`, numbered `n` by the isolate. */
  | { type: "call"; id: string; n: number; op: ServiceOp; args: unknown[] }
  | { type: "pong"; n: number };

/**
 * The errors a durable call may answer with, rebuilt as their own class so a
 * handler inside the isolate can tell them apart as it would in async mode.
 */
/** A JobCancelledError rebuilt from its message (a spawn refused because the job's cancel was asked for). */
class CancelledJob extends JobCancelledError {
  constructor(message: string) {
    super("");
    this.message = message;
  }
}

const TYPED: Record<string, new (message: string) => Error> = {
  JobCancelledError: CancelledJob,
  StepError,
  EnqueueError,
  ResultError,
  ConfigError,
  DriverError,
};

/** An error from its ErrorInfo: a Stint error of the same class when it is one of TYPED, else an Error with its name. */
export function errorFromInfo(info: ErrorInfo): Error {
  const Typed = Object.hasOwn(TYPED, info.name) ? TYPED[info.name] : null;
  const error = Typed ? new Typed(info.message) : new Error(info.message);
  error.name = info.name;
  if (info.stack) error.stack = info.stack;
  return error;
}

