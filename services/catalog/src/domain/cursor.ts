// Opaque, HMAC-signed keyset cursors: the position (starts_at, id) of the last item of a page, bound to the
// query's filters and sort. Tampering, or replaying a cursor with other filters, fails verification.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface CursorPosition {
  startsAt: string;
  id: string;
}

export class InvalidCursorError extends Error {}

function sign(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

/** `scope` identifies the query the cursor belongs to (filters + sort), so a cursor cannot cross queries. */
export function encodeCursor(secret: string, scope: string, pos: CursorPosition): string {
  const data = Buffer.from(JSON.stringify({ s: pos.startsAt, i: pos.id })).toString('base64url');
  return `${data}.${sign(secret, `${scope}\n${data}`)}`;
}

export function decodeCursor(secret: string, scope: string, cursor: string): CursorPosition {
  const [data, mac, extra] = cursor.split('.');
  if (!data || !mac || extra !== undefined) throw new InvalidCursorError('malformed cursor');
  const expected = Buffer.from(sign(secret, `${scope}\n${data}`));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new InvalidCursorError('cursor signature does not match');
  let parsed: { s?: unknown; i?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(data, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('malformed cursor');
  }
  if (typeof parsed.s !== 'string' || typeof parsed.i !== 'string' || Number.isNaN(Date.parse(parsed.s)))
    throw new InvalidCursorError('malformed cursor');
  return { startsAt: parsed.s, id: parsed.i };
}
