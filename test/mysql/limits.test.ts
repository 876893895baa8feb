/** Statements stay under max_allowed_packet: big batches split, oversize values refused or failed. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStint, defineTask, EnqueueError } from "../../mod.ts";
import { mysqlUrl, rawConnection, skip } from "./env.ts";

const backend = () => `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;

async function maxAllowedPacket(): Promise<number> {
  const conn = await rawConnection();
  try {
    const [rows] = await conn.query(`SELECT @@max_allowed_packet AS n`);
    return Number((rows as Array<{ n: number }>)[0].n);
  } finally {
    await conn.end();
  }
}

describe("mysql packet limits", { skip }, () => {
  test("a batch whose payloads together exceed max_allowed_packet is inserted whole", async () => {
    const packet = await maxAllowedPacket();
    const stint = await createStint({ url: mysqlUrl(), backend: backend() });
    try {
      await stint.migrate();
      const each = Math.ceil(packet / 10);
      const items = Array.from({ length: 12 }, (_, i) => ({ task: "t", payload: { i, pad: "x".repeat(each) } }));
      const handles = await stint.enqueueAll(items);
      assert.equal(await stint.queue("default").size(), 12);
      const payload = (await stint.getResult(handles[11].id)).payload as { pad: string };
      assert.equal(payload.pad.length, each);
    } finally {
      await stint.close();
    }
  });

  test("a single payload that cannot fit is an EnqueueError and nothing is written", async () => {
    const packet = await maxAllowedPacket();
    const stint = await createStint({ url: mysqlUrl(), backend: backend() });
    try {
      await stint.migrate();
      await assert.rejects(
        stint.enqueueAll([{ task: "t", payload: 1 }, { task: "t", payload: "x".repeat(packet) }]),
        (error: unknown) => error instanceof EnqueueError && /max_allowed_packet/.test(error.message),
      );
      assert.equal(await stint.queue("default").size(), 0);
    } finally {
      await stint.close();
    }
  });

  test("a return value that cannot be stored fails its job instead of leaving it claimed", async () => {
    const packet = await maxAllowedPacket();
    const huge = defineTask("huge", () => "y".repeat(packet));
    const small = defineTask("small", () => 1);
    const stint = await createStint({ url: mysqlUrl(), backend: backend(), tasks: [huge, small], onRuntimeError() {} });
    try {
      await stint.migrate();
      const a = await stint.enqueue(huge, null);
      const b = await stint.enqueue(small, null);
      const supervisor = await stint.start({ mode: "async" });
      try {
        for (let i = 0; i < 200; i++) {
          const [ra, rb] = [await stint.getResult(a.id), await stint.getResult(b.id)];
          if (ra.finishedAt && rb.finishedAt) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await supervisor.stop();
      }
      const ra = await stint.getResult(a.id);
      assert.equal(ra.status, "failed");
      assert.match(ra.error?.message ?? "", /return value/);
      assert.equal((await stint.getResult(b.id)).status, "succeeded");
    } finally {
      await stint.close();
    }
  });
});
