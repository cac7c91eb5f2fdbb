// The on-sale as the public API sees it: an organizer creates and publishes a big event through the gateway,
// buyers register (or log in again on a reused stack), and the availability snapshot is read back.
import { randomBytes } from 'node:crypto';
import { gatewayApi, type GatewayReply } from '@eventtickets/platform/testing';

export type ApiReply = GatewayReply;

export function api(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<ApiReply> {
  return gatewayApi(base)(method, path, opts);
}

function expectStatus(reply: ApiReply, status: number, what: string): any {
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

export async function login(base: string, email: string, password: string): Promise<string> {
  const body = expectStatus(
    await api(base, 'POST', '/api/auth/login', { body: { email, password } }),
    200,
    `login ${email}`,
  );
  return body.accessToken as string;
}

/** A published event with `rows × seatsPerRow` reserved seats in one section, created as an organizer would. */
export async function createSeatedEvent(
  base: string,
  organizerToken: string,
  opts: { title: string; rows: number; seatsPerRow: number; maxSeatsPerOrder?: number },
): Promise<string> {
  const call = (method: string, path: string, body?: unknown) =>
    api(base, method, path, { token: organizerToken, body });
  const venue = expectStatus(
    await call('POST', '/api/venues', {
      name: `${opts.title} hall ${randomBytes(3).toString('hex')}`,
      city: 'Dublin',
      address: '1 Quay Street',
      timeZone: 'Europe/Dublin',
      seatMap: {
        sections: [
          { name: 'Arena', rows: opts.rows, seatsPerRow: opts.seatsPerRow, origin: { x: 10, y: 10 }, spacing: 12 },
        ],
      },
    }),
    201,
    'create venue',
  );
  const start = new Date(Date.now() + 30 * 86_400_000);
  start.setUTCHours(20, 0, 0, 0);
  const event = expectStatus(
    await call('POST', '/api/events', {
      venueId: venue.id,
      title: opts.title,
      category: 'concert',
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 3 * 3_600_000).toISOString(),
      maxSeatsPerOrder: opts.maxSeatsPerOrder ?? 8,
      tiers: [{ name: 'Arena', amount: 4500, currency: 'EUR', sections: ['Arena'] }],
    }),
    201,
    'create event',
  );
  expectStatus(await call('POST', `/api/events/${event.id}/publish`), 200, 'publish event');
  return event.id as string;
}

export interface Snapshot {
  eventId: string;
  seq: number;
  status: string;
  seats: Record<string, string>;
}

/** The availability snapshot, once inventory has materialised the event (it arrives through the event bus). */
export async function waitForSnapshot(base: string, eventId: string, timeoutMs = 60_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await api(base, 'GET', `/api/events/${eventId}/availability`);
    if (reply.status === 200) return reply.body as Snapshot;
    // 404: not materialised yet; 5xx: a stack still busy with the race's tail (retried until the deadline)
    if ((reply.status !== 404 && reply.status < 500) || Date.now() > deadline)
      throw new Error(`availability of ${eventId}: ${reply.status} ${JSON.stringify(reply.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Buyer {
  email: string;
  token: string;
}

/** `count` buyers signed in: registered (201 logs in), or logged in when a reused stack already has them. */
export async function signInBuyers(
  base: string,
  opts: { count: number; runId: string; concurrency?: number; onProgress?: (done: number) => void },
): Promise<Buyer[]> {
  const password = `bench-${opts.runId}-pw`;
  const buyers: Buyer[] = new Array(opts.count);
  let next = 0;
  let done = 0;
  async function worker(): Promise<void> {
    while (next < opts.count) {
      const i = next++;
      const email = `onsale-${opts.runId}-${i}@bench.example.com`;
      // A 5xx (a 504 on a machine busy hashing passwords) is tried again, a few times.
      let reg = await api(base, 'POST', '/api/auth/register', { body: { email, password, name: `Buyer ${i}` } });
      for (let retry = 0; reg.status >= 500 && retry < 5; retry++)
        reg = await api(base, 'POST', '/api/auth/register', { body: { email, password, name: `Buyer ${i}` } });
      let token: string;
      if (reg.status === 201) token = reg.body.accessToken;
      else if (reg.status === 409) token = await login(base, email, password);
      else throw new Error(`register ${email}: ${reg.status} ${JSON.stringify(reg.body)}`);
      buyers[i] = { email, token };
      opts.onProgress?.(++done);
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency ?? 6 }, worker));
  return buyers;
}

/** Overlapping two-seat requests: seat i with its neighbour i+1 in the event's seat order.
 *  One collator for the whole sort: `localeCompare(b, 'en', { numeric: true })` builds one per comparison
 *  (2.2 s of the load generator's CPU for 10,000 seats, which the bench counted as load per attempt). */
export function seatPairs(snapshot: Snapshot): [string, string][] {
  const { compare } = new Intl.Collator('en', { numeric: true });
  const ids = Object.keys(snapshot.seats).sort(compare);
  return ids.slice(0, -1).map((id, i) => [id, ids[i + 1]!]);
}
