// Ticket codes: `<ticket id>.<event id>.<mac>`, ids compacted to base64url when they are UUIDs, mac =
// HMAC-SHA256(TICKET_CODE_SECRET, "<ticketId>|<eventId>") truncated to 96 bits. Short enough for a dense QR
// (about 60 characters for UUID ids), and neither id can be changed without the secret.
import { createHmac, timingSafeEqual } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function packId(id: string): string {
  return UUID.test(id)
    ? Buffer.from(id.replace(/-/g, ''), 'hex').toString('base64url')
    : `~${Buffer.from(id, 'utf8').toString('base64url')}`;
}

function unpackId(s: string): string | undefined {
  if (s.startsWith('~')) return Buffer.from(s.slice(1), 'base64url').toString('utf8') || undefined;
  const hex = Buffer.from(s, 'base64url').toString('hex');
  if (hex.length !== 32 || Buffer.from(hex, 'hex').toString('base64url') !== s) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function mac(secret: string, ticketId: string, eventId: string): Buffer {
  return createHmac('sha256', secret).update(`${ticketId}|${eventId}`).digest().subarray(0, 12);
}

export function signTicketCode(secret: string, ticketId: string, eventId: string): string {
  return `${packId(ticketId)}.${packId(eventId)}.${mac(secret, ticketId, eventId).toString('base64url')}`;
}

/** The ids a code carries when its signature holds; undefined for a forged, altered or malformed code. */
export function verifyTicketCode(secret: string, code: string): { ticketId: string; eventId: string } | undefined {
  const parts = code.trim().split('.');
  if (parts.length !== 3 || parts.some((p) => !/^~?[A-Za-z0-9_-]+$/.test(p))) return undefined;
  const ticketId = unpackId(parts[0]!);
  const eventId = unpackId(parts[1]!);
  if (!ticketId || !eventId) return undefined;
  const given = Buffer.from(parts[2]!, 'base64url');
  const expected = mac(secret, ticketId, eventId);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return { ticketId, eventId };
}
