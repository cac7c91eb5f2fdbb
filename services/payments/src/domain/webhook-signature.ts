// Webhook signatures (pure, node:crypto only): header `Payments-Signature: t=<unix seconds>,v1=<hex>` where
// v1 = HMAC-SHA256(secret, "<t>.<raw body>"), the scheme Stripe uses. A timestamp outside the tolerance is
// refused even with a good signature, so a captured request cannot be replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'payments-signature';

export function signPayload(secret: string, timestampS: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.${body}`, 'utf8').digest('hex');
}

/** The header value for a body signed at timestampS. */
export function signatureHeader(secret: string, timestampS: number, body: string): string {
  return `t=${timestampS},v1=${signPayload(secret, timestampS, body)}`;
}

export type SignatureCheck =
  { ok: true; timestampS: number } | { ok: false; reason: 'invalid' | 'stale'; detail: string };

/** Checks a header against the raw body. Any v1 entry may match (secret rotation sends two). */
export function verifySignature(
  header: string | undefined,
  body: string,
  secret: string,
  nowS: number,
  toleranceS: number,
): SignatureCheck {
  if (!header) return { ok: false, reason: 'invalid', detail: 'The Payments-Signature header is missing' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) signatures.push(v);
  }
  if (timestamp === undefined || signatures.length === 0)
    return { ok: false, reason: 'invalid', detail: 'The Payments-Signature header is malformed (t=<unix>,v1=<hex>)' };
  const expected = Buffer.from(signPayload(secret, timestamp, body), 'hex');
  const matches = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  if (!matches) return { ok: false, reason: 'invalid', detail: 'The signature does not match the body' };
  if (Math.abs(nowS - timestamp) > toleranceS)
    return { ok: false, reason: 'stale', detail: `The signature timestamp is more than ${toleranceS} s from now` };
  return { ok: true, timestampS: timestamp };
}
