import { chunks, placeholders, type SqlAccess, str } from "./access.ts";

const BATCH = 500;

export async function jobCancelRequested(access: SqlAccess, p: { backend: string; ids: string[] }): Promise<string[]> {
  const out: string[] = [];
  for (const batch of chunks(p.ids, BATCH)) {
    const rows = await access.query(
      `SELECT id FROM stint_jobs WHERE backend = ? AND id IN (${placeholders(batch.length)})
       AND cancel_requested_at IS NOT NULL`,
      [p.backend, ...batch],
    );
    for (const r of rows) out.push(str(r.id));
  }
  return out;
}
