/**
 * The chaos suite's supervisors: real child processes running test/chaos/supervisor.ts
 * under Deno or Bun. The fleet keeps `size` of them alive (a killed or stopped one is
 * replaced), records when each was signalled and when it exited (the ledger needs the
 * moment an execution died with its process), and counts the ones that outlive their stop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import process from "node:process";

export type Runtime = "deno" | "bun";

export interface Member {
  slot: number;
  proc: ChildProcess;
  pid: number;
  spawnedAt: number;
  ready: boolean;
  /** When SIGTERM (or the final stop) was sent; the member must exit within the stop deadline. */
  stoppedAt: number | null;
  killedAt: number | null;
  exitedAt: number | null;
  exit: string | null;
  log: string;
}

export interface FleetOptions {
  runtime: Runtime;
  root: string;
  env: Record<string, string>;
  logDir: string;
  /** The createStint options of the supervisor in `slot`, as JSON. */
  options(slot: number): Record<string, unknown>;
}

export class Fleet {
  readonly members: Member[] = [];
  #streams: WriteStream[] = [];
  #spawned = 0;

  constructor(private readonly o: FleetOptions) {}

  spawn(slot: number): Member {
    const script = join(this.o.root, "test/chaos/supervisor.ts");
    const bin = join(this.o.root, "node_modules/.bin", this.o.runtime);
    const args = this.o.runtime === "deno" ? ["run", "-A", script] : [script];
    const proc = spawn(bin, args, {
      cwd: this.o.root,
      env: { ...process.env, ...this.o.env, CHAOS_OPTIONS: JSON.stringify(this.o.options(slot)), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = join(this.o.logDir, `${this.o.runtime}-${++this.#spawned}-slot${slot}.log`);
    const out = createWriteStream(log);
    this.#streams.push(out);
    const member: Member = {
      slot,
      proc,
      pid: proc.pid ?? -1,
      spawnedAt: Date.now(),
      ready: false,
      stoppedAt: null,
      killedAt: null,
      exitedAt: null,
      exit: null,
      log,
    };
    proc.stdout!.on("data", (chunk: Uint8Array) => {
      out.write(chunk);
      if (!member.ready && String(chunk).includes("ready ")) member.ready = true;
    });
    proc.stderr!.on("data", (chunk: Uint8Array) => out.write(chunk));
    proc.on("exit", (code, signal) => {
      member.exitedAt = Date.now();
      member.exit = signal ? signal : `code ${code}`;
    });
    proc.on("error", (error) => {
      member.exitedAt ??= Date.now();
      member.exit ??= `spawn error: ${error.message}`;
    });
    this.members.push(member);
    return member;
  }

  /** Members running and not asked to stop, one per slot at most. */
  live(): Member[] {
    return this.members.filter((m) => m.exitedAt === null && m.stoppedAt === null && m.killedAt === null);
  }

  /** Starts a new member in every slot that has none (a crashed supervisor is replaced too). */
  fill(size: number): number {
    const taken = new Set(this.live().map((m) => m.slot));
    let started = 0;
    for (let slot = 0; slot < size; slot++) {
      if (!taken.has(slot)) {
        this.spawn(slot);
        started++;
      }
    }
    return started;
  }

  kill9(member: Member): void {
    member.killedAt = Date.now();
    member.proc.kill("SIGKILL");
  }

  term(member: Member): void {
    member.stoppedAt = Date.now();
    member.proc.kill("SIGTERM");
  }

  /** Exited members that were neither killed nor stopped by us. */
  crashed(): Member[] {
    return this.members.filter((m) => m.exitedAt !== null && m.killedAt === null && m.stoppedAt === null);
  }

  /** SIGTERMs every live member and waits until every stopped member exited or its deadline passed. */
  async stopAll(deadlineMs: number): Promise<void> {
    for (const m of this.live()) this.term(m);
    const pending = () => this.members.filter((m) => m.exitedAt === null && m.killedAt === null);
    while (pending().some((m) => Date.now() < (m.stoppedAt ?? 0) + deadlineMs)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Members still alive past `deadlineMs` after their stop. */
  unexited(deadlineMs: number): Member[] {
    return this.members.filter((m) =>
      m.stoppedAt !== null && m.killedAt === null &&
      (m.exitedAt === null ? Date.now() : m.exitedAt) - m.stoppedAt > deadlineMs
    );
  }

  /** When the process with this pid exited, if it was one of ours and has. */
  exitOf(pid: number): number | null {
    return this.members.find((m) => m.pid === pid)?.exitedAt ?? null;
  }

  /** SIGKILLs whatever is still running (cleanup; also for the interrupted suite). */
  killAll(): void {
    for (const m of this.members) {
      if (m.exitedAt === null) {
        try {
          m.proc.kill("SIGKILL");
        } catch { /* gone */ }
      }
    }
  }

  async waitAllExited(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.members.some((m) => m.exitedAt === null) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const s of this.#streams) s.end();
  }
}
