// Random hex ids (trace and span ids) drawn from a pooled buffer: one randomFillSync per 4 KiB instead of
// one per id, which showed up in the gateway's CPU profile at two ids per proxied request. Each byte of
// the pool is used once; the ids are unpredictable, as W3C trace context recommends.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** `bytes` random bytes as lowercase hex (2 × bytes characters), never all zeros. */
export function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > POOL_BYTES) {
      pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
      offset = 0;
    }
    const start = offset;
    offset += bytes;
    // An all-zero trace or span id is invalid in W3C trace context: draw again (probability 2^-64 or less).
    for (let i = start; i < offset; i++) if (pool[i] !== 0) return pool.toString('hex', start, offset);
  }
}
