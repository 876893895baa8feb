/**
 * Writes the files of the README's two quick starts (tasks.ts, main.ts, worker.ts, enqueue.ts)
 * into a directory, as a reader would copy them: `node test/package/readme-files.ts DIR`.
 * test/package/run.sh runs them there against the installed npm package.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ASYNC_QUICK_START, readme, sectionFiles, WORKER_QUICK_START } from "../support/readme.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: node test/package/readme-files.ts DIR");
const text = readme();
const files = new Map([...sectionFiles(text, ASYNC_QUICK_START), ...sectionFiles(text, WORKER_QUICK_START)]);
for (const name of ["tasks.ts", "main.ts", "worker.ts", "enqueue.ts"]) {
  if (!files.has(name)) throw new Error(`the README's quick starts have no ${name}`);
}
for (const [name, code] of files) writeFileSync(join(dir, name), code);
console.log([...files.keys()].join(" "));
