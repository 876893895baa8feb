/**
 * Queue depths (django-db-queue's queue_depth): how many jobs wait to run in
 * each queue, for autoscaling and alerts. Shared by Stint and the edge client.
 */
import type { Driver } from "./driver.ts";
import { checkDepthOptions } from "./validate.ts";

/**
 * Ready, scheduled and blocked jobs by queue. Every queue asked for is present
 * (0 included), in the order asked; without `queues`, every queue that has
 * waiting jobs, by name. `excludeFuture` leaves out scheduled jobs due after `now`.
 */
export async function queueDepths(driver: Driver, backend: string, options: unknown, now: Date): Promise<Record<string, number>> {
  const { queues, excludeFuture } = checkDepthOptions(options);
  if (queues !== undefined && queues.length === 0) return {};
  const depths = await driver.queueDepth({ backend, queues, dueBy: excludeFuture ? now : undefined });
  // fromEntries makes own properties: a queue named "__proto__" is a key like any other.
  if (queues !== undefined) return Object.fromEntries(queues.map((q) => [q, depths.get(q) ?? 0]));
  return Object.fromEntries([...depths].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
