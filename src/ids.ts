/**
 * Job ids are UUIDv7: 48 bits of Unix milliseconds, then a 12-bit counter that
 * keeps ids made in the same millisecond by this process in order, then random
 * bits. Sorting by id is therefore sorting by enqueue time, which is what the
 * claim's "then oldest" tie-break uses.
 */
let lastMs = 0;
let counter = 0;

export function newJobId(now = Date.now()): string {
  if (now <= lastMs) {
    counter++;
    if (counter > 0xfff) {
      // 4096 ids in one millisecond: borrow the next millisecond.
      lastMs++;
      counter = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    counter = 0;
  }
  const r = randomBytes(10);
  const h = HEX;
  if (now !== hexMs) {
    hexMs = now;
    const t = now.toString(16).padStart(12, "0");
    hexTime = `${t.slice(0, 8)}-${t.slice(8, 12)}`;
  }
  return `${hexTime}-7${h[counter >> 8][1]}${h[counter & 0xff]}-` +
    `${h[(r[0] & 0x3f) | 0x80]}${h[r[1]]}-${h[r[2]]}${h[r[3]]}${h[r[4]]}${h[r[5]]}${h[r[6]]}${h[r[7]]}`;
}

/** The time part of the last id's millisecond, reused by every id made in that millisecond. */
let hexMs = -1;
let hexTime = "";

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Random bytes drawn from a pool refilled 4 KiB at a time: one getRandomValues call per ~400 ids. */
const pool = new Uint8Array(4096);
let poolAt = pool.length;
function randomBytes(n: number): Uint8Array {
  if (poolAt + n > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isJobId(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}
