/**
 * Where each measurement runs. Without --url every measurement gets its own
 * fresh libSQL file (so table sizes never carry over); with --url all of them
 * share that database under fresh backend aliases, and their rows are deleted
 * afterwards.
 */
import { createStint } from "../mod.ts";
import { makeTempDir, removeDir } from "./env.ts";
import { openRaw, type RawQueue } from "./raw/mod.ts";
import type { Target } from "./stint_side.ts";

export class Targets {
  readonly #url: string | null;
  readonly #dir: string | null;
  readonly #runId = Date.now().toString(36);
  readonly #migrated = new Set<string>();

  private constructor(url: string | null, dir: string | null) {
    this.#url = url;
    this.#dir = dir;
  }

  static async create(url: string | null): Promise<Targets> {
    return new Targets(url, url === null ? await makeTempDir() : null);
  }

  get description(): string {
    return this.#url === null ? `fresh libSQL file per measurement in ${this.#dir}` : redact(this.#url);
  }

  /** The URL for probing the server's settings (a scratch file by default). */
  get probeUrl(): string {
    return this.#url ?? `file:${this.#dir}/probe.db`;
  }

  get scheme(): string {
    return this.probeUrl.slice(0, this.probeUrl.indexOf(":")).toLowerCase();
  }

  fresh(label: string): Target {
    if (this.#url === null) return { url: `file:${this.#dir}/${label}.db`, backend: "bench" };
    return { url: this.#url, backend: `bench-${this.#runId}-${label}` };
  }

  /** Creates the stint_ tables with Stint's own migration (the raw side writes to the same schema). */
  async migrate(url: string): Promise<void> {
    if (this.#migrated.has(url)) return;
    const stint = await createStint({ url });
    try {
      await stint.migrate();
    } finally {
      await stint.close();
    }
    this.#migrated.add(url);
  }

  async openRaw(target: Target): Promise<RawQueue> {
    await this.migrate(target.url);
    return await openRaw(target.url);
  }

  /** Deletes the rows a measurement left in a shared database. */
  async cleanup(target: Target): Promise<void> {
    if (this.#url === null) return;
    const raw = await openRaw(target.url);
    try {
      await raw.cleanup(target.backend);
    } finally {
      await raw.close();
    }
  }

  async close(): Promise<void> {
    if (this.#dir !== null) await removeDir(this.#dir);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
