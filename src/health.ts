/**
 * `stint.health({ maxAge })`: healthy when at least one supervisor of this
 * backend heartbeated within maxAge, every runner under the live supervisors
 * did too, and none of them misses a runner it started (its row gone: a
 * supervisor left with no worker runs no job). When unhealthy, `reason` says why.
 */
import type { Driver } from "./driver.ts";
import type { Duration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import { configCheck } from "./validate.ts";

export interface HealthReport {
  healthy: boolean;
  reason: string | null;
  supervisors: number;
  runners: number;
  checkedAt: Date;
}

export async function checkHealth(driver: Driver, backend: string, maxAge: Duration, now = new Date()): Promise<HealthReport> {
  const maxAgeMs = configCheck.duration(maxAge, "health maxAge");
  if (maxAgeMs <= 0) throw new ConfigError(`health maxAge: ${JSON.stringify(maxAge)} must be greater than zero`);
  const processes = await driver.processList({ backend });
  const age = (at: Date) => now.getTime() - at.getTime();
  const supervisors = processes.filter((p) => p.kind === "supervisor");
  const live = supervisors.filter((p) => age(p.lastHeartbeatAt) <= maxAgeMs);
  const liveIds = new Set(live.map((p) => p.id));
  const runners = processes.filter((p) => p.supervisorId !== null && liveIds.has(p.supervisorId));
  const stale = runners.filter((p) => age(p.lastHeartbeatAt) > maxAgeMs);
  const missing = live.flatMap((s) => {
    // The names the supervisor registered it would start (absent on rows of older versions).
    const expected = (s.metadata as { runners?: unknown }).runners;
    if (!Array.isArray(expected)) return [];
    const present = new Set(runners.filter((p) => p.supervisorId === s.id).map((p) => p.name));
    return expected.filter((name) => !present.has(String(name))).map((name) => `${s.name}/${name}`);
  });
  let reason: string | null = null;
  if (supervisors.length === 0) {
    reason = `no supervisor is registered for backend ${JSON.stringify(backend)}`;
  } else if (live.length === 0) {
    const newest = Math.min(...supervisors.map((p) => age(p.lastHeartbeatAt)));
    reason = `no supervisor heartbeated in the last ${maxAgeMs} ms (the newest heartbeat is ${Math.round(newest)} ms old)`;
  } else if (stale.length > 0) {
    reason = `stale runners: ${stale.map((p) => `${p.name} (${Math.round(age(p.lastHeartbeatAt))} ms since its heartbeat)`).join(", ")}`;
  } else if (missing.length > 0) {
    reason = `runners not registered under a live supervisor: ${missing.join(", ")}`;
  }
  return { healthy: reason === null, reason, supervisors: live.length, runners: runners.length - stale.length, checkedAt: now };
}
