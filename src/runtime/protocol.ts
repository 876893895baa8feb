/**
 * Messages between the main thread and a Web Worker isolate. The isolate only
 * runs handlers: it never touches the queue's database (a terminated worker
 * must never leave the queue's tables locked).
 */
import type { ErrorInfo } from "../errors.ts";

export type AbortKind = "timeout" | "cancel" | "shutdown";

export type ToIsolate =
  /** `gate`: one Int32 the isolate raises to a job's seq as it starts it; -1 once the main thread gave up on it. */
  | { type: "init"; tasksUrl: string; gate: SharedArrayBuffer }
  /** `payload`: the JSON text as stored; the isolate parses it, the main thread never does. */
  | { type: "run"; seq: number; id: string; task: string; queue: string; attempt: number; payload: string }
  | { type: "abort"; id: string; kind: AbortKind; message: string }
  | { type: "ping"; n: number };

export type FromIsolate =
  | { type: "ready"; tasks: string[] }
  | { type: "init-failed"; error: ErrorInfo }
  /** `json`: the result's JSON text, checked in the isolate and stored by the main thread as it is. */
  | { type: "result"; id: string; ok: true; json: string }
  | { type: "result"; id: string; ok: false; error: ErrorInfo }
  | { type: "pong"; n: number };
