/**
 * The node: functions the adapters call, declared for the npm build (tsconfig.build.json) so
 * that it needs no runtime's type package (@types/node would also type `process` and `Buffer`
 * as globals in src/, which must not use them). Deno and Bun type these modules themselves;
 * nothing imports this file. Declare here what an adapter starts to use.
 */
declare module "node:os" {
  export function hostname(): string;
}

declare module "node:fs" {
  export function readlinkSync(path: string): string;
}

declare module "node:fs/promises" {
  export function readFile(path: string, encoding: "utf8"): Promise<string>;
  export function writeFile(path: string, data: string, encoding: "utf8"): Promise<void>;
  export function rm(path: string, options?: { force?: boolean; recursive?: boolean }): Promise<void>;
}

declare module "node:process" {
  type Signal = "SIGTERM" | "SIGINT" | "SIGQUIT";
  const process: {
    readonly pid: number;
    readonly argv: string[];
    readonly env: Record<string, string | undefined>;
    cwd(): string;
    exit(code?: number): never;
    kill(pid: number, signal?: string | number): true;
    on(signal: Signal, handler: () => void): unknown;
    off(signal: Signal, handler: () => void): unknown;
  };
  export default process;
}

declare module "node:worker_threads" {
  export class Worker {
    constructor(url: URL | string, options?: { name?: string; workerData?: unknown });
    postMessage(message: unknown): void;
    on(event: "message", listener: (data: unknown) => void): this;
    on(event: "error" | "messageerror", listener: (error: Error) => void): this;
    on(event: "exit", listener: (code: number) => void): this;
    terminate(): Promise<number>;
  }
  export const parentPort: {
    postMessage(message: unknown): void;
    on(event: "message", listener: (data: unknown) => void): unknown;
  } | null;
  export const workerData: unknown;
}
