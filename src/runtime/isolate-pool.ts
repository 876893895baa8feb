/**
 * The main-thread side of worker mode: a fixed number of Web Worker isolates
 * that run handlers, with a watchdog and replacement. (On Node, which has no
 * Web Worker, Platform.spawnIsolate makes a node:worker_threads one that looks alike.)
 *
 *   spawn ──init──▶ ready ──run/abort/ping──▶ … ──▶ gone ──backoff──▶ spawn
 *                                                    ▲
 *     error event (preventDefault) · close · no pong within watchdogTimeout ·
 *     a job ignoring its abort past the grace period (terminate)
 *
 * A gone isolate fails the jobs it started with ProcessExitError and is
 * replaced: at once the first time, then after 100 ms doubling to 30 s; the
 * count resets once an isolate has lived a minute; never after stop().
 * Deno cannot stop a worker stuck in a synchronous loop (terminate() returns
 * but the thread runs on): the pool replaces it all the same and carries on.
 *
 * Jobs posted to an isolate wait in its message queue while a handler holds
 * its thread. Each isolate shares a gate with the main thread (one Int32 in a
 * SharedArrayBuffer): the isolate raises it to a job's sequence number as it
 * starts the job, and going gone swaps in -1, after which the isolate starts
 * nothing — not even a Deno isolate that outlived terminate(). The value
 * swapped out tells which posted jobs never started: those reject with
 * NotStartedSignal and go back to ready.
 *
 * A job's durable calls come from its isolate as "call" messages: the pool
 * answers each with `services` for the ClaimedJob it handed over (the claim
 * never leaves this thread), while the job is pending here.
 */
import {
  ConfigError,
  JobCancelledError,
  JobTimeoutError,
  NotStartedSignal,
  ProcessExitError,
  safeErrorInfo,
  ShutdownSignal,
  StepError,
  SuspendSignal,
} from "../errors.ts";
import type { IsolateEvent, IsolateWorker } from "../platform.ts";
import type { ClaimedJob } from "../records.ts";
import type { SpawnOptions } from "../task-context.ts";
import type { JobServices } from "./durable.ts";
import type { IsolateDone } from "./execute.ts";
import { type AbortKind, errorFromInfo, type FromIsolate, type ServiceOp, type ToIsolate } from "./protocol.ts";
import { sleep } from "./sleep.ts";

export interface IsolatePoolOptions {
  size: number;
  tasksUrl: string;
  name: string;
  watchdogTimeoutMs: number;
  abortGraceMs: number;
  /** Starts an isolate where the runtime has no Web Worker (Platform.spawnIsolate, Node). */
  spawn?: (url: string, name: string) => IsolateWorker;
  onExit(isolateName: string, error: ProcessExitError): void;
  /** Answers the isolates' durable calls (services.ts); without it, every call fails. */
  services?: JobServices;
  /** What a job's hooks threw inside its isolate (it never fails the job). */
  onHookError?(error: Error, job: ClaimedJob): void;
}

interface Pending {
  /** The job's place in the order it was posted to its isolate (from 1). */
  seq: number;
  /** The job as it was claimed: its durable calls are answered for it. */
  job: ClaimedJob;
  /** With the handler's result (its JSON text, passed on unparsed). */
  resolve(done: IsolateDone): void;
  reject(error: unknown): void;
}

interface Isolate {
  name: string;
  slot: number;
  worker: IsolateWorker;
  pending: Map<string, Pending>;
  /** The gate shared with the isolate (see the top of this file), and the last sequence number posted. */
  gate: Int32Array;
  posted: number;
  lastSeen: number;
  startedAt: number;
  gone: boolean;
}

// isolate.ts beside this file, with this file's extension: .ts from source, .js once compiled.
const ISOLATE_URL = new URL(`./isolate${/\.[cm]?[jt]s$/.exec(import.meta.url)?.[0] ?? ".ts"}`, import.meta.url).href;

/** Runs one durable call for `job` (a Map goes back as an array of pairs). */
function serve(services: JobServices, job: ClaimedJob, op: ServiceOp, args: unknown[]): Promise<unknown> {
  switch (op) {
    case "stepList":
      return services.stepList(job).then((stored) => [...stored]);
    case "stepSave":
      return services.stepSave(job, args[0] as string, args[1] as string);
    case "spawn":
      return services.spawn(job, args[0] as string, args[1] as string, args[2], args[3] as SpawnOptions | undefined);
    case "results":
      return services.results(job, args[0] as string[]);
    case "progress":
      return services.progress(job, args[0] as string);
  }
}

function abortKind(reason: unknown): AbortKind {
  if (reason instanceof JobTimeoutError) return "timeout";
  if (reason instanceof JobCancelledError) return "cancel";
  return "shutdown";
}

export class IsolatePool {
  readonly #options: IsolatePoolOptions;
  readonly #slots: Array<Isolate | null>;
  readonly #crashes: number[];
  readonly #waiters: Array<() => void> = [];
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  /** Aborted at stop: a respawn waiting out its back-off (up to 30 s) must not keep the process alive. */
  readonly #stopSignal = new AbortController();
  #pings = 0;

  constructor(options: IsolatePoolOptions) {
    this.#options = options;
    this.#slots = new Array(options.size).fill(null);
    this.#crashes = new Array(options.size).fill(0);
  }

  /** Spawns every isolate and waits until each has imported the tasks module. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.#slots.map((_, slot) => this.#spawn(slot, true)));
    } catch (error) {
      // One isolate failed: those already up (or still starting) must not keep the process alive.
      await this.stop();
      throw error;
    }
    const every = Math.max(50, Math.min(1000, Math.floor(this.#options.watchdogTimeoutMs / 3)));
    this.#watchdog = setInterval(() => this.#checkWatchdog(), every);
  }

  get alive(): number {
    return this.#slots.filter((i) => i && !i.gone).length;
  }

  #spawn(slot: number, first: boolean): Promise<void> {
    const name = `${this.#options.name}/isolate-${slot + 1}`;
    if (!this.#options.spawn && typeof Worker === "undefined") {
      throw new ConfigError("worker mode: this runtime has no Web Worker, and its Platform no spawnIsolate");
    }
    const worker = this.#options.spawn?.(ISOLATE_URL, name) ??
      new Worker(ISOLATE_URL, { type: "module" }) as unknown as IsolateWorker;
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const isolate: Isolate = {
      name,
      slot,
      worker,
      pending: new Map(),
      gate,
      posted: 0,
      lastSeen: Date.now(),
      startedAt: Date.now(),
      gone: false,
    };
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      worker.addEventListener("message", (event) => {
        isolate.lastSeen = Date.now();
        const message = event.data as FromIsolate;
        if (message.type === "ready" && !settled) {
          settled = true;
          if (this.#stopped) {
            // A respawn that finished after stop(): it must not keep the process alive.
            isolate.gone = true;
            worker.terminate();
            return resolve();
          }
          this.#slots[slot] = isolate;
          this.#wakeWaiters();
          resolve();
        } else if (message.type === "init-failed" && !settled) {
          settled = true;
          worker.terminate();
          const error = new ConfigError(`tasks: the isolate could not import ${this.#options.tasksUrl}: ${message.error.message}`);
          if (first) reject(error);
          else this.#gone(isolate, `failed to import the tasks module: ${message.error.message}`);
        } else if (message.type === "result" || message.type === "advance") {
          const pending = isolate.pending.get(message.id);
          if (!pending) return;
          isolate.pending.delete(message.id);
          for (const info of message.hookErrors ?? []) this.#options.onHookError?.(errorFromInfo(info), pending.job);
          if (message.type === "advance") {
            pending.resolve({ kind: "advance", workspace: message.workspace, step: message.step });
          } else if (message.ok) {
            const { json, workspace } = message;
            pending.resolve(workspace === undefined ? { kind: "ok", json } : { kind: "ok", json, workspace });
          } else {
            // A sleep or join: a real SuspendSignal, from which execute.ts decides the outcome.
            pending.reject(message.suspend ? new SuspendSignal(message.suspend) : errorFromInfo(message.error));
          }
        } else if (message.type === "call") {
          this.#answer(isolate, message);
        }
      });
      const onDeath = (what: string) => (event: IsolateEvent) => {
        event.preventDefault?.(); // on Deno, an unhandled worker error would kill the whole process
        const detail = event.message ? `: ${event.message}` : "";
        if (!settled) {
          settled = true;
          if (first) return reject(new ConfigError(`the isolate ${name} died while starting${detail}`));
        }
        this.#gone(isolate, `${what}${detail}`);
      };
      worker.addEventListener("error", onDeath("threw an uncaught error"));
      worker.addEventListener("messageerror", onDeath("received a message it could not read"));
      // Bun and Node only; Deno says nothing when a worker exits by itself (the watchdog notices).
      worker.addEventListener("close", onDeath("exited"));
      this.#post(isolate, { type: "init", tasksUrl: this.#options.tasksUrl, gate: gate.buffer });
    });
  }

  #post(isolate: Isolate, message: ToIsolate): void {
    try {
      isolate.worker.postMessage(message);
    } catch (error) {
      this.#gone(isolate, `could not be reached: ${(error as Error).message}`);
    }
  }

  /** Answers a durable call of a job pending in `isolate`, with the main thread's services. */
  #answer(isolate: Isolate, call: Extract<FromIsolate, { type: "call" }>): void {
    const job = isolate.pending.get(call.id)?.job;
    const services = this.#options.services;
    let answer: Promise<unknown>;
    if (!job || !services) {
      const why = job ? "this pool has no services" : `it is no longer running in isolate ${isolate.name}`;
      answer = Promise.reject(new StepError(`job ${call.id}: its ${call.op} call cannot be answered: ${why}`));
    } else {
      try {
        answer = serve(services, job, call.op, call.args);
      } catch (error) {
        answer = Promise.reject(error);
      }
    }
    const reply = (message: ToIsolate) => {
      if (!isolate.gone) this.#post(isolate, message);
    };
    answer.then(
      (value) => reply({ type: "reply", n: call.n, ok: true, value }),
      // Its name and message cross (a StepError, an EnqueueError for a bad spawn): errorFromInfo rebuilds it there.
      (error) => reply({ type: "reply", n: call.n, ok: false, error: safeErrorInfo(error) }),
    );
  }

  #checkWatchdog(): void {
    const now = Date.now();
    for (const isolate of this.#slots) {
      if (!isolate || isolate.gone) continue;
      if (now - isolate.lastSeen > this.#options.watchdogTimeoutMs) {
        this.#gone(isolate, `stopped answering its watchdog for ${this.#options.watchdogTimeoutMs} ms`);
      } else {
        this.#post(isolate, { type: "ping", n: ++this.#pings });
      }
    }
  }

  /**
   * Marks an isolate gone: close its gate, terminate it, fail the jobs it
   * started, hand back those it never started, and replace it with backoff.
   */
  #gone(isolate: Isolate, why: string): void {
    if (isolate.gone) return;
    isolate.gone = true;
    const started = Atomics.exchange(isolate.gate, 0, -1);
    try {
      isolate.worker.terminate();
    } catch { /* already gone */ }
    if (this.#slots[isolate.slot] === isolate) this.#slots[isolate.slot] = null;
    const error = new ProcessExitError(`isolate ${isolate.name} ${why}`);
    const notStarted = new NotStartedSignal(`isolate ${isolate.name} went before it started the job (it ${why})`);
    for (const pending of isolate.pending.values()) pending.reject(pending.seq > started ? notStarted : error);
    isolate.pending.clear();
    if (this.#stopped) return;
    this.#options.onExit(isolate.name, error);
    const lived = Date.now() - isolate.startedAt;
    this.#crashes[isolate.slot] = lived > 60_000 ? 1 : this.#crashes[isolate.slot] + 1;
    const n = this.#crashes[isolate.slot];
    const delay = n <= 1 ? 0 : Math.min(30_000, 100 * 2 ** (n - 2));
    void this.#respawn(isolate.slot, delay);
  }

  async #respawn(slot: number, delay: number): Promise<void> {
    await sleep(delay, this.#stopSignal.signal);
    if (this.#stopped) return;
    try {
      await this.#spawn(slot, false);
    } catch { /* #gone already scheduled the next try */ }
  }

  #wakeWaiters(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #pick(): Promise<Isolate> {
    for (;;) {
      if (this.#stopped) throw new NotStartedSignal(`${this.#options.name} is stopping`);
      let best: Isolate | null = null;
      for (const isolate of this.#slots) {
        if (isolate && !isolate.gone && (!best || isolate.pending.size < best.pending.size)) best = isolate;
      }
      if (best) return best;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /**
   * Runs one job in the least busy isolate; an abort is forwarded, and enforced after the grace period.
   * The payload goes as the text it was stored as, the result comes back as JSON text: neither is
   * parsed or stringified on this thread (the isolate does both, once).
   */
  async run(job: ClaimedJob, signal: AbortSignal): Promise<IsolateDone> {
    const isolate = await this.#pick();
    // Aborted while waiting for an isolate (all were respawning): never start it. A stop's job never
    // started, so it goes back to ready (even an at-most-once one), as one an isolate never started.
    if (signal.aborted) {
      if (!(signal.reason instanceof ShutdownSignal)) throw signal.reason;
      throw new NotStartedSignal(`${this.#options.name}: stopped before it started the job`);
    }
    return new Promise<IsolateDone>((resolve, reject) => {
      let grace: ReturnType<typeof setTimeout> | undefined;
      // Settling clears the grace timer: a pending timer would keep a stopped process alive for abortGrace.
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(grace);
        fn(value);
      };
      const seq = ++isolate.posted;
      isolate.pending.set(job.id, { seq, job, resolve: settle(resolve), reject: settle(reject) });
      const onAbort = () => {
        if (!isolate.pending.has(job.id)) return;
        const reason = signal.reason;
        this.#post(isolate, { type: "abort", id: job.id, kind: abortKind(reason), message: String(reason?.message ?? reason) });
        grace = setTimeout(() => {
          if (!isolate.pending.has(job.id)) return;
          const ms = this.#options.abortGraceMs;
          // Not started yet: another handler has held the isolate's thread all this time.
          const why = Atomics.load(isolate.gate, 0) >= seq
            ? `job ${job.id} ignored its abort for ${ms} ms`
            : `a handler held its thread: job ${job.id}, aborted, could not start for ${ms} ms`;
          this.#gone(isolate, `was terminated: ${why}`);
        }, this.#options.abortGraceMs);
      };
      // The fields the isolate reads, not the whole claimed job: every field posted is cloned.
      const { id, task, queue, attempt, payload, workspace, step, parentId } = job;
      this.#post(isolate, { type: "run", seq, id, task, queue, attempt, payload, workspace, step, parentId });
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Terminates every isolate; jobs still inside them are failed with ProcessExitError
   * (those never started reject with NotStartedSignal).
   * With `graceMs`, jobs whose abort was sent first get that long to see it and settle.
   */
  async stop(graceMs = 0): Promise<void> {
    this.#stopped = true;
    this.#stopSignal.abort();
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && this.#slots.some((i) => i && !i.gone && i.pending.size > 0)) await sleep(10);
    clearInterval(this.#watchdog);
    for (const isolate of this.#slots) if (isolate) this.#gone(isolate, "was stopped");
    this.#wakeWaiters();
  }
}
