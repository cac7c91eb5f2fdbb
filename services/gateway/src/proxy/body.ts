// Reads a small request body into memory (only for routes whose limits need a field of it, i.e. login),
// bounded by the body limit. The exact bytes are then forwarded; the parsed copy is only looked at.
import type { IncomingMessage } from 'node:http';
import { payloadTooLarge } from './proxy.ts';

export async function readBodyBounded(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw payloadTooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The account a login/register attempt is for (its e-mail), when the body is JSON that names one. */
export function accountOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { email?: unknown };
    return typeof parsed?.email === 'string' ? parsed.email.trim().toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}
