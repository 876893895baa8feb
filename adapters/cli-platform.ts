import type { Platform } from "../src/platform.ts";

/** The Platform, plus what only the command line (cli.ts) needs; the core never sees these. */
export interface CliPlatform extends Platform {
  /** The working directory: a relative --config path and ./stint.yml are read from it. */
  cwd(): string;
  /** Command-line arguments after the script. */
  args(): string[];
  exit(code: number): never;
}
