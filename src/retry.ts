import type { Duration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { configCheck } from "./validate.ts";

/**
 * `retry: { attempts, backoff }`: attempts counts every run, the first included,
 * so `attempts: 5` means one run and up to four retries.
 * backoff: "exponential" (default: 1 s doubling to at most 1 h, with jitter),
 * or a Duration for a fixed delay, or { exponential: base, max }.
 */
export interface RetryOptions {
  attempts?: number;
  backoff?: "exponential" | Duration | { exponential: Duration; max?: Duration };
}

export type BackoffPolicy =
  | { kind: "fixed"; delayMs: number }
  | { kind: "exponential"; baseMs: number; maxMs: number };

export function parseRetry(value: unknown, what: string): { attempts: number; backoff: BackoffPolicy } {
  if (value === null || typeof value !== "object") throw new ConfigError(`${what} must be an object like { attempts: 5 }`);
  const options = value as RetryOptions;
  for (const key of Object.keys(options)) {
    if (key !== "attempts" && key !== "backoff") throw new ConfigError(`${what}: unknown option ${JSON.stringify(key)}`);
  }
  const attempts = options.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 1000) {
    throw new ConfigError(`${what}.attempts must be an integer from 1 to 1000, got ${JSON.stringify(attempts)}`);
  }
  return { attempts, backoff: parseBackoff(options.backoff ?? "exponential", `${what}.backoff`) };
}

function parseBackoff(value: unknown, what: string): BackoffPolicy {
  if (value === "exponential") return { kind: "exponential", baseMs: 1000, maxMs: 3_600_000 };
  if (value !== null && typeof value === "object" && "exponential" in value) {
    const spec = value as { exponential: Duration; max?: Duration };
    const baseMs = configCheck.duration(spec.exponential, `${what}.exponential`);
    const maxMs = spec.max === undefined ? 3_600_000 : configCheck.duration(spec.max, `${what}.max`);
    if (baseMs <= 0) throw new ConfigError(`${what}.exponential must be greater than zero`);
    return { kind: "exponential", baseMs, maxMs: Math.max(maxMs, baseMs) };
  }
  return { kind: "fixed", delayMs: configCheck.duration(value, what) };
}

/** Delay before attempt `failedAttempt + 1`. Exponential delays get "equal jitter" (50–100 %). */
export function backoffDelay(policy: BackoffPolicy, failedAttempt: number, random = Math.random): number {
  if (policy.kind === "fixed") return policy.delayMs;
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failedAttempt - 1, 40));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}
