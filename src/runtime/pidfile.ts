/**
 * `supervisorPidfile`: one supervisor per host for a given file. A pidfile whose
 * process still exists (even one we may not signal) refuses the start; a stale
 * or garbage one is replaced; the file is removed on stop.
 */
import { PidfileError } from "../errors.ts";
import type { Platform } from "../platform.ts";

export async function acquirePidfile(platform: Platform, path: string): Promise<() => Promise<void>> {
  const existing = await platform.readTextFile(path);
  if (existing !== null) {
    const pid = Number(existing.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== platform.pid && platform.processExists(pid)) {
      throw new PidfileError(path, pid);
    }
  }
  await platform.writeTextFile(path, `${platform.pid}\n`);
  return async () => {
    const current = await platform.readTextFile(path);
    if (current !== null && Number(current.trim()) === platform.pid) await platform.removeFile(path);
  };
}
