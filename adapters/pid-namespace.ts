/**
 * Which pid namespace this process lives in (Linux: the target of
 * /proc/self/ns/pid, e.g. "pid:[4026531836]"), or null where there is no such
 * thing. Two containers can share a hostname (host networking) while their
 * pids mean different processes: a pid is only comparable within one namespace.
 */
import { readlinkSync } from "node:fs";

let cached: string | null | undefined;

export function pidNamespace(): string | null {
  if (cached !== undefined) return cached;
  try {
    cached = readlinkSync("/proc/self/ns/pid");
  } catch {
    cached = null; // not Linux, or no read permission
  }
  return cached;
}
