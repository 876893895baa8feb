/**
 * A multi-step workflow in one short program (about 2 s):
 *
 *   deno run -A examples/workflow.ts
 *   bun examples/workflow.ts
 *   node examples/workflow.ts
 *
 * Onboarding a customer creates their account once (ctx.step), waits out a
 * grace period with a durable sleep (ctx.sleep), then spawns one import per
 * file (ctx.spawn) and waits for all of them (ctx.join). An import is a
 * three-step task, download → validate → store, whose steps share a JSON
 * workspace; its validate step fails once and is retried from that step, with
 * the rows download left in the workspace. Hooks log every step's attempt.
 * It writes stint-example.db in the current directory, under a fresh backend
 * alias per run, and runs in async mode; worker mode runs the same tasks from
 * a module URL. docs/workflows.md explains the model.
 */
import { createStint, defineTask } from "../mod.ts";

const FILES: Record<string, string> = {
  "contacts.csv": "name,email\nAda,ada@example.com\nGrace,grace@example.com\nAlan,alan(at)example.com",
  "orders.csv": "sku,qty\nA-1,2\nB-7,1",
};
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What the hooks saw, per file, in order. */
const trace = new Map<string, string[]>();
const note = (file: string, line: string) => {
  trace.set(file, [...(trace.get(file) ?? []), line]);
};
/** How often code ran: the workflow's handler runs again after its sleep and its join. */
const ran = { onboard: 0, createAccount: 0 };
let validationOutage = true;

type ImportWorkspace = { customer: string; file: string; header?: string[]; rows?: string[][]; rejected?: number };

// A multi-step task: the payload is the first workspace; each step may change it in place.
const importFile = defineTask<ImportWorkspace, { file: string; stored: number; rejected: number }>("import_file", [
  async function download(ws) {
    await wait(200); // the network
    const [header, ...lines] = FILES[ws.file].split("\n");
    ws.header = header.split(",");
    ws.rows = lines.map((line) => line.split(","));
  },
  function validate(ws) {
    if (validationOutage && ws.file === "contacts.csv") {
      validationOutage = false;
      throw new Error("the address checker is down"); // retried from this step, not from download
    }
    const email = ws.header!.indexOf("email");
    const valid = ws.rows!.filter((row) => email < 0 || row[email].includes("@"));
    ws.rejected = ws.rows!.length - valid.length;
    ws.rows = valid;
  },
  function store(ws) {
    return { file: ws.file, stored: ws.rows!.length, rejected: ws.rejected! }; // the last step's value is the job's
  },
], {
  retry: { attempts: 3, backoff: "100ms" }, // per step: each step may run 3 times
  hooks: {
    onEnqueue: (job) => note(job.payload.file, "onEnqueue"),
    before: (job) => note(job.payload.file, `before ${job.step!.name} (attempt ${job.attempt})`),
    onFailure: (job, error, ctx) =>
      note(job.payload.file, `onFailure ${job.step!.name}: ${(error as Error).message} (willRetry ${ctx.willRetry})`),
    after: (job) => note(job.payload.file, `after ${job.step!.name}`),
  },
});

// Durable calls inside an ordinary handler: it runs again from the top after the sleep and after the join.
const onboard = defineTask("onboard", async ({ customer, files }: { customer: string; files: string[] }, ctx) => {
  ran.onboard++;
  const account = await ctx.step("create-account", () => {
    ran.createAccount++;
    return { accountId: `acct_${customer}` };
  });
  await ctx.sleep("grace-period", "1s"); // the job is scheduled meanwhile, holding no worker slot
  const imports = [];
  for (const file of files) imports.push(await ctx.spawn(`import ${file}`, importFile, { customer, file }));
  const results = await ctx.join("imports", imports); // status "waiting" until every import has ended
  return {
    account: account.accountId,
    imports: results.map((r) => ({ status: r.status, ...r.returnValue as object })),
  };
});

const stint = await createStint({
  url: "file:stint-example.db",
  backend: `example-${crypto.randomUUID().slice(0, 8)}`,
  tasks: [onboard, importFile],
  workers: [{ concurrency: 5, pollingInterval: "50ms" }],
  dispatchers: [{ pollingInterval: "50ms" }],
  onRuntimeError: (error, context) => console.error("runtime error", context, error),
});
await stint.migrate();
const supervisor = await stint.start({ mode: "async" });

const job = await stint.enqueue(onboard, { customer: "acme", files: ["contacts.csv", "orders.csv"] });
// Watch the parent: "scheduled" while it sleeps, "waiting" while its children run.
const seen: string[] = [];
for (;;) {
  const { status } = await stint.getResult(job.id);
  if (status !== seen.at(-1) && ["scheduled", "waiting", "succeeded", "failed"].includes(status)) seen.push(status);
  if (status === "succeeded" || status === "failed") break;
  await wait(20);
}
const result = await stint.waitFor(job, { timeout: "10s" });

console.log(`onboard ${result.status}: ${JSON.stringify(result.returnValue)}`);
console.log(`its statuses: ${seen.join(" -> ")}`);
console.log(`its handler ran ${ran.onboard} times; create-account ran ${ran.createAccount} time`);
for (const [file, lines] of trace) console.log(`hooks of ${file}:\n  ${lines.join("\n  ")}`);

// Finding jobs by their data: payload fields, or a multi-step job's workspace fields (no index needed).
const children = await stint.jobs({ parentId: job.id });
console.log(
  `children: ${children.length}, parentId ${children.every((c) => c.parentId === job.id) ? "set" : "missing"}`,
);
const [found] = await stint.jobs({ where: { file: "contacts.csv" } });
const contacts = await stint.getResult(found.id);
const step = contacts.step!;
// Every attempt of every step counts in the job's attempts; its errors say which attempt failed.
const failures = contacts.errors.map((e) => `attempt ${e.attempt}: ${e.message}`).join("; ");
console.log(
  `contacts.csv: step ${step.index + 1}/${step.count} (${step.name}), ${contacts.attempts} attempts, ${failures}`,
);
console.log(`contacts.csv's workspace: ${JSON.stringify(contacts.workspace)}`);
const acme = await stint.jobs({ where: { customer: "acme" } });
console.log(`jobs where customer is "acme": ${acme.length} (${acme.map((j) => j.task).sort().join(", ")})`);

await supervisor.stop();
await stint.close();
