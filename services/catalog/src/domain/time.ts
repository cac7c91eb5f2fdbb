// Time zones: events happen at a venue's wall-clock time. Inputs without an offset are read in the venue's
// IANA zone; outputs carry both the instant (UTC) and the local wall-clock time.
const HAS_OFFSET = /(Z|[+-]\d{2}:\d{2})$/;

/** Instants the service stores and prints: Postgres rejects year 0, and years past 9999 serialise as
 *  "+010000-..." which is no RFC 3339 date-time. Anything outside is a client error, never a 500. */
export const EARLIEST_INSTANT = new Date('1970-01-01T00:00:00.000Z');
export const LATEST_INSTANT = new Date('9999-12-31T23:59:59.999Z');

export function isSupportedInstant(d: Date): boolean {
  return !Number.isNaN(d.getTime()) && d >= EARLIEST_INSTANT && d <= LATEST_INSTANT;
}

export function isValidTimeZone(zone: string): boolean {
  // Offsets like "+01:00" are accepted by Intl but are not IANA zone names; names start with a letter and may hold
  // digits and signs (EST5EDT, GMT0, Etc/GMT+5).
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function parts(instant: number, zone: string): Record<string, number> {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const out: Record<string, number> = {};
  for (const p of fmt.formatToParts(new Date(instant))) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

/** Offset of zone at instant, in ms (local = utc + offset). */
function offsetAt(instant: number, zone: string): number {
  const p = parts(instant, zone);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * Parses "2026-07-01T20:00" (wall clock in zone) or an ISO instant with offset. Returns undefined if the
 * text is not a real date. A wall-clock time skipped by a DST jump resolves to the instant after the jump.
 */
export function parseEventTime(text: string, zone: string): Date | undefined {
  if (HAS_OFFSET.test(text)) {
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  // Two passes converge across DST transitions.
  let guess = wall - offsetAt(wall, zone);
  guess = wall - offsetAt(guess, zone);
  return new Date(guess);
}

/** "2026-07-01T20:00:00" in zone. */
export function localWallClock(instant: Date, zone: string): string {
  const p = parts(instant.getTime(), zone);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(p.year!, 4)}-${pad(p.month!)}-${pad(p.day!)}T${pad(p.hour!)}:${pad(p.minute!)}:${pad(p.second!)}`;
}
