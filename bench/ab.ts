/**
 * Before/after: runs bench/run.ts (Stint side only) in two checkouts in turn,
 * the order alternating from pass to pass, and prints each figure's median for
 * both with their ratio. The machine's speed swings from minute to minute, so
 * two figures are only comparable when taken interleaved like this.
 *
 *   deno run -A bench/ab.ts --base ../base [--passes 3] [--runtime deno|bun] -- <bench/run.ts options>
 *
 * `--base` is the other checkout (e.g. `git worktree add --detach ../base <commit>`);
 * this checkout is "new". Both run their own bench/run.ts, so options passed
 * after `--` must be known to both.
 */
const argv = [...Deno.args];
const split = argv.indexOf("--");
const own = split < 0 ? argv : argv.slice(0, split);
const benchArgs = split < 0 ? [] : argv.slice(split + 1);
let base = "";
let passes = 3;
let runtime = "deno";
for (let i = 0; i < own.length; i++) {
  if (own[i] === "--base") base = own[++i];
  else if (own[i] === "--passes") passes = Number(own[++i]);
  else if (own[i] === "--runtime") runtime = own[++i];
  else throw new Error(`unknown option ${own[i]} (usage: --base DIR [--passes N] [--runtime deno|bun] -- <run.ts options>)`);
}
if (!base || !(passes >= 1) || !["deno", "bun"].includes(runtime)) throw new Error("--base DIR is required; --passes >= 1");

const here = new URL("..", import.meta.url).pathname;
const trees = { base: await Deno.realPath(base), new: await Deno.realPath(here) };
const bin = `${trees.new}/node_modules/.bin/${runtime}`;
type Side = keyof typeof trees;
const figures = new Map<string, Record<Side, number[]> & { unit: string }>();

async function run(side: Side): Promise<void> {
  const args = runtime === "deno" ? ["run", "-A", "bench/run.ts", "--no-raw", ...benchArgs] : ["bench/run.ts", "--no-raw", ...benchArgs];
  const out = await new Deno.Command(bin, { args, cwd: trees[side], stdout: "piped", stderr: "inherit" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) console.error(`${side}: bench/run.ts exited ${out.code}\n${text}`);
  // Table rows: "scenario | 1,234 jobs/s | - | -"
  for (const line of text.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4) continue;
    const m = /^([\d,.]+) (\S+)$/.exec(cells[1]);
    if (!m) continue;
    const row = figures.get(cells[0]) ?? { base: [], new: [], unit: m[2] };
    row[side].push(Number(m[1].replaceAll(",", "")));
    figures.set(cells[0], row);
  }
}

for (let pass = 0; pass < passes; pass++) {
  const order: Side[] = pass % 2 === 0 ? ["base", "new"] : ["new", "base"];
  for (const side of order) {
    console.error(`pass ${pass + 1}/${passes}: ${side}`);
    await run(side);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number) => Number.isNaN(x) ? "-" : x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toPrecision(3);
console.log(`base ${trees.base}, new ${trees.new}, ${runtime}, ${passes} passes, order alternating; bench options: ${benchArgs.join(" ")}`);
console.log("scenario | base | new | new/base | runs (base; new)");
for (const [scenario, row] of figures) {
  const [b, n] = [median(row.base), median(row.new)];
  console.log(
    `${scenario} | ${fmt(b)} ${row.unit} | ${fmt(n)} ${row.unit} | ${(n / b).toFixed(2)} | ${row.base.map(fmt).join(" ")}; ${row.new.map(fmt).join(" ")}`,
  );
}
