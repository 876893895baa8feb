/**
 * The claim loop's two policies, as plain functions of its state: how many
 * jobs the next claim may ask for, and how long to back off a failing claim.
 *
 *   room = concurrency + prefetch − running − buffered − reserved by claims in flight
 *
 *   claims in flight?  ──yes──▶ a second one of half the capacity, only when pipelined,
 *        │no                   draining (the newest answer was full) and room for it; else 0
 *   buffer over half full (prefetch)? ──yes──▶ 0: wait for jobs to finish (fewer, bigger claims)
 *        │no
 *   pipelined ? min(room, half) : room
 *
 * Pipelined means `prefetch` on a driver that allows overlapping claims
 * (capabilities.overlappingClaims: PostgreSQL): two claims of half the capacity
 * each in flight at once while the queue keeps answering full, since a fast
 * drain otherwise spends most of its time waiting for the next claim with
 * nothing left to run. An idle worker's poll is one claim, not two.
 */

export interface ClaimState {
  concurrency: number;
  prefetch: number;
  /** Jobs running, jobs claimed and waiting for a slot, and slots held by claims in flight. */
  running: number;
  buffered: number;
  reserved: number;
  /** Claims in flight. */
  inFlight: number;
  /** The newest claim answered came back full. */
  draining: boolean;
  /** The driver allows two claims in flight at once. */
  overlapping: boolean;
}

/** How many jobs the next claim may ask for now; 0 when it must wait. */
export function claimLimit(s: ClaimState): number {
  const capacity = s.concurrency + s.prefetch;
  const room = capacity - s.running - s.buffered - s.reserved;
  if (room <= 0) return 0;
  const pipelined = s.prefetch > 0 && s.overlapping;
  const half = Math.ceil(capacity / 2);
  if (s.inFlight > 0) return pipelined && s.draining && s.inFlight === 1 && room >= half ? half : 0;
  if (s.prefetch > 0 && s.buffered > s.prefetch / 2) return 0;
  return pipelined ? Math.min(room, half) : room;
}

/** Failed claims in a row back off: twice pollingInterval, doubling, up to 2 s (a recovered database waits little). */
export function claimBackoffMs(pollingIntervalMs: number, failures: number): number {
  return Math.min(2000, pollingIntervalMs * 2 ** Math.min(failures, 10));
}
