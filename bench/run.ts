/**
 * Stint benchmark: enqueue (single and bulk), drain throughput and end-to-end
 * latency, each beside the raw-SQL ceiling through the same client.
 *
 *   npx deno run -A bench/run.ts [--url URL] [--jobs 20000] [--concurrency 10,50] [--scenario all]
 *   npx bun bench/run.ts …
 *
 * See bench/README.md for what each figure means.
 */
import { cpus, loadavg } from "node:os";
import { exit, runtimeName, scriptArgs } from "./env.ts";
import { type BenchOptions, parseOptions, USAGE, UsageError } from "./options.ts";
import { openRaw } from "./raw/mod.ts";
import { formatRow, formatTable, type Row } from "./report.ts";
import { drainRows, enqueueRows, latencyRows, stepsRows, transactionalRows, warmUp } from "./scenarios.ts";
import { runtimeErrors } from "./stint_side.ts";
import { Targets } from "./targets.ts";

async function describeDatabase(targets: Targets): Promise<string> {
  try {
    await targets.migrate(targets.probeUrl);
    const raw = await openRaw(targets.probeUrl);
    try {
      return await raw.describe();
    } finally {
      await raw.close();
    }
  } catch (error) {
    return `unknown (${(error as Error).message})`;
  }
}

async function main(options: BenchOptions): Promise<number> {
  const targets = await Targets.create(options.url);
  const rows: Row[] = [];
  const add = (row: Row) => {
    rows.push(row);
    console.log(formatRow(row));
  };
  try {
    const load = loadavg().map((l) => l.toFixed(2)).join(" ");
    console.log(`stint bench — ${runtimeName}, ${cpus().length} CPUs, load average ${load}`);
    console.log(`database: ${targets.description}`);
    console.log(`durability: ${await describeDatabase(targets)}`);
    console.log(
      `jobs ${options.jobs}, single ${options.single}, concurrency ${options.concurrency.join(",")}, ` +
        `latency ${options.latencyJobs} jobs every ${options.paceMs} ms, pollingInterval ${options.pollMs} ms, prefetch ${options.prefetch}, repeat ${options.repeat}\n`,
    );
    await warmUp(targets, options);
    if (options.scenarios.has("enqueue")) await enqueueRows(targets, options, add);
    if (options.scenarios.has("drain")) await drainRows(targets, options, add);
    if (options.scenarios.has("steps")) await stepsRows(targets, options, add);
    if (options.scenarios.has("latency")) await latencyRows(targets, options, add);
    if (options.scenarios.has("transactional")) await transactionalRows(targets, options, add);
    console.log(`\n${formatTable(rows)}`);
    console.log(
      "\nthroughput: stint/raw below 1 = slower than the ceiling; latency and memory: above 1 = worse." +
        (runtimeErrors.count > 0 ? `\nstint reported ${runtimeErrors.count} runtime errors (see above).` : ""),
    );
    const failed = rows.some((r) => r.stint === null || (options.raw && r.ceiling !== false && r.raw === null));
    return failed ? 1 : 0;
  } finally {
    await targets.close();
  }
}

let options: BenchOptions;
try {
  options = parseOptions(scriptArgs());
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  if (error.message) console.error(error.message);
  console.error(USAGE);
  exit(error.message ? 2 : 0);
}
exit(await main(options));
