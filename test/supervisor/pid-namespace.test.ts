/**
 * A supervisor prunes at start the rows of its own host whose pid is gone, but
 * only rows whose pid means the same thing here: a row that recorded another
 * pid namespace (a container sharing the hostname through host networking)
 * is left to the heartbeat threshold, since its pid cannot be probed from here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { defineTask, type Stint } from "../../mod.ts";
import { detectPlatform } from "../../adapters/mod.ts";
import { targets } from "../support/targets.ts";
import { withStint } from "../support/harness.ts";

const noop = defineTask("pidns_noop", () => null);
const libsql = targets.find((t) => t.name === "libsql")!;

/** A pid that existed a moment ago and has exited. */
function deadPid(): number {
  const child = spawnSync("true");
  assert.ok(child.pid && child.pid > 0);
  return child.pid;
}

async function registerRow(stint: Stint, name: string, pid: number, metadata: Record<string, unknown>): Promise<string> {
  const platform = await detectPlatform();
  const id = crypto.randomUUID();
  await stint.driver.processRegister({
    backend: stint.backend,
    id,
    info: { kind: "supervisor", name, pid, hostname: platform.hostname(), metadata, supervisorId: null },
    now: new Date(),
  });
  return id;
}

test("a dead pid of this host is pruned at start only when its row shares our pid namespace", {
  skip: libsql.skip,
}, () =>
  withStint(libsql, { tasks: [noop] }, async (stint) => {
    const platform = await detectPlatform();
    const ours = platform.pidNamespace?.() ?? null;
    const pid = deadPid();
    const same = await registerRow(stint, "same-namespace", pid, { pidNamespace: ours });
    const other = await registerRow(stint, "other-namespace", pid, { pidNamespace: "pid:[1]" });
    const legacy = await registerRow(stint, "no-namespace", pid, {});
    const supervisor = await stint.start({ mode: "async" });
    const ids = new Set((await stint.driver.processList({ backend: stint.backend })).map((p) => p.id));
    assert.ok(!ids.has(same), "the row of our namespace whose pid is gone was pruned");
    assert.ok(!ids.has(legacy), "a row that recorded no namespace (older versions) is judged by hostname alone");
    if (ours !== null) assert.ok(ids.has(other), "a row of another pid namespace was kept");
    assert.ok(ids.has(supervisor.id));
    const mine = (await stint.driver.processList({ backend: stint.backend })).find((p) => p.id === supervisor.id)!;
    assert.equal(mine.metadata.pidNamespace, ours, "our own rows record our namespace");
  }));
