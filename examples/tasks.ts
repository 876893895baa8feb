/**
 * Example tasks. A tasks module only exports tasks (and whatever helpers they
 * need); workers import it by URL, so keep it free of side effects.
 */
import { defineTask } from "../mod.ts";

export const add = defineTask("add", ({ a, b }: { a: number; b: number }) => a + b);

export const sendEmail = defineTask(
  "send_email",
  async ({ to }: { to: string }, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return { delivered: to, attempt: ctx.attempt };
  },
  { queue: "email", priority: 10 },
);

/** Fails on its first attempt, succeeds on the second: shows automatic retries. */
export const flaky = defineTask(
  "flaky",
  (_payload: null, ctx) => {
    if (ctx.attempt < 2) throw new Error(`transient failure on attempt ${ctx.attempt}`);
    return "recovered";
  },
  { retry: { attempts: 3, backoff: "200ms" } },
);

/** Always fails: shows how a failed job keeps its error. */
export const chargeCard = defineTask("charge_card", ({ cents }: { cents: number }) => {
  throw new RangeError(`card declined for ${cents} cents`);
});

/** Ignores nothing: honours its timeout through ctx.signal. */
export const slowReport = defineTask(
  "slow_report",
  (_payload: null, ctx) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve("done"), 10_000);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    }),
  { timeout: "300ms" },
);
