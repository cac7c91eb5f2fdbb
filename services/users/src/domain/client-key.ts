// Which client a login comes from, as the key of its (account, client) back-off. The gateway appends the address
// it received the request from to X-Forwarded-For (after whatever the client or a trusted ingress sent), so the
// entry counted from the right is the gateway's own: trustedHops entries further left when the gateway itself sits
// behind that many trusted proxies. Entries further left are the client's to write, and never read here.
import { isIPv4, isIPv6 } from 'node:net';

/** IPv4 as is; IPv6 by its /64 (one subscriber's allocation: rotating the low bits does not make a new client). */
export function normaliseClientAddress(raw: string): string {
  let address = raw.trim().toLowerCase();
  if (address.startsWith('[') && address.includes(']')) address = address.slice(1, address.indexOf(']'));
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address.slice(0, 100) || 'unknown';
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  if (right.some((g) => g.includes('.'))) right.splice(-1, 1, '0', '0'); // an embedded IPv4 is in the low 64 bits
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The client of a request: the trusted X-Forwarded-For entry, or the peer address when there is no header. */
export function clientKeyOf(forwardedFor: string | undefined, peer: string | undefined, trustedHops: number): string {
  const entries = (forwardedFor ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) return normaliseClientAddress(peer ?? 'unknown');
  return normaliseClientAddress(entries[Math.max(0, entries.length - 1 - trustedHops)]!);
}
