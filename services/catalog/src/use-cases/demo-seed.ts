// Demo data for the local stack, created through the public API at the gateway exactly as an organizer
// would: the demo venue "Harbour Hall" and a few published events in the coming months. Idempotent: the
// venue is found by name and events by title at that venue before anything is created; a draft left by
// an interrupted run is published. A demo event that has ended (or was cancelled) since an earlier start
// is left as history and scheduled anew, so a long-lived DATA_DIR still has upcoming events to buy.

export interface SeedContext {
  gatewayUrl: string;
  demoPassword: string;
  log: (msg: string) => void;
}

const ORGANIZER_EMAIL = 'organizer@example.com';
const VENUE_NAME = 'Harbour Hall';

export const demoVenue = {
  name: VENUE_NAME,
  city: 'Dublin',
  address: "Sir John Rogerson's Quay, Dublin 2",
  timeZone: 'Europe/Dublin',
  seatMap: {
    sections: [
      { name: 'Stalls', rows: 10, seatsPerRow: 20, origin: { x: 40, y: 120 }, spacing: 24 },
      { name: 'Circle', rows: 5, seatsPerRow: 16, origin: { x: 88, y: 400 }, spacing: { x: 24, y: 26 }, firstRow: 'K' },
      {
        name: 'Balcony',
        rows: 4,
        seatsPerRow: 12,
        origin: { x: 136, y: 560 },
        spacing: { x: 24, y: 26 },
        firstRow: 'P',
      },
    ],
    gaAreas: [{ name: 'Standing Floor', capacity: 200, x: 560, y: 200 }],
  },
};

const tiers = (base: number) => [
  { name: 'Stalls', amount: base + 2000, currency: 'EUR', sections: ['Stalls'] },
  { name: 'Circle', amount: base + 1000, currency: 'EUR', sections: ['Circle'] },
  { name: 'Balcony', amount: base, currency: 'EUR', sections: ['Balcony'] },
  { name: 'Standing', amount: base + 500, currency: 'EUR', gaAreas: ['Standing Floor'] },
];

/** Wall-clock date `days` from now at hh:mm in the venue's zone (the API reads offset-less times that way). */
function localDate(days: number, hhmm: string): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.toISOString().slice(0, 10)}T${hhmm}`;
}

export function demoEvents() {
  return [
    {
      title: 'Harbour Lights Orchestra',
      category: 'concert',
      days: 21,
      base: 2500,
      description: 'A summer evening of film scores and sea shanties by the Harbour Lights Orchestra.',
    },
    {
      title: 'The Quayside Players: Twelfth Night',
      category: 'theatre',
      days: 45,
      base: 2000,
      description: "Shakespeare's comedy of mistaken identity, staged in the round.",
    },
    {
      title: 'Late Night Jazz Session',
      category: 'concert',
      days: 70,
      base: 1500,
      description: 'Smoky saxophone, upright bass and a trio that takes requests.',
    },
    {
      title: 'Stand-up at the Hall',
      category: 'comedy',
      days: 100,
      base: 1200,
      description: 'Four comedians, one microphone, no mercy.',
    },
  ].map((e) => ({
    title: e.title,
    category: e.category,
    description: e.description,
    startsAt: localDate(e.days, '19:30'),
    endsAt: localDate(e.days, '22:30'),
    imageUrl: null,
    tiers: tiers(e.base),
  }));
}

class ApiError extends Error {}

async function call(
  gatewayUrl: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<any> {
  const res = await fetch(new URL(path, gatewayUrl), {
    method,
    headers: {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new ApiError(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * True when every demo event is already there, published and upcoming at Harbour Hall, found through the public
 * event search (venues are the organizer's to list): the everyday start then does not sign in (a password check
 * is a scrypt hash, 0.4-1.5 s of CPU during this stack's start, issue 19). Anything missing, ended or unreadable:
 * false, and seedDemo takes the signed-in path, which finds and creates. (A published event of the same title at
 * a venue of that name by another organizer would count as the demo one: the search does not tell demo accounts
 * apart.)
 */
async function demoDataComplete(gatewayUrl: string): Promise<boolean> {
  try {
    const found = await Promise.all(
      demoEvents().map(async (demo) => {
        const page = await call(
          gatewayUrl,
          'GET',
          `/api/events?q=${encodeURIComponent(demo.title)}&limit=100`,
          undefined,
        );
        return page.items.some(
          (e: { title: string; status: string; venue: { name: string } }) =>
            e.title === demo.title && e.venue.name === VENUE_NAME && e.status === 'published',
        );
      }),
    );
    return found.every(Boolean);
  } catch {
    return false;
  }
}

export async function seedDemo(ctx: SeedContext): Promise<void> {
  if (await demoDataComplete(ctx.gatewayUrl)) {
    ctx.log(`catalog seed: the ${demoEvents().length} demo events at "${VENUE_NAME}" exist`);
    return;
  }
  const { accessToken } = await call(ctx.gatewayUrl, 'POST', '/api/auth/login', undefined, {
    email: ORGANIZER_EMAIL,
    password: ctx.demoPassword,
  });
  const api = (method: string, path: string, body?: unknown) => call(ctx.gatewayUrl, method, path, accessToken, body);

  const venues = await api('GET', `/api/venues?name=${encodeURIComponent(VENUE_NAME)}`);
  let venue = venues.items[0];
  if (venue) ctx.log(`catalog seed: venue "${VENUE_NAME}" exists`);
  else {
    venue = await api('POST', '/api/venues', demoVenue);
    ctx.log(`catalog seed: created venue "${VENUE_NAME}" (${venue.seatCount} seats, ${venue.gaCapacity} standing)`);
  }

  const existing = new Map<string, { id: string; status: string }>();
  let cursor: string | null = null;
  do {
    const page: any = await api(
      'GET',
      `/api/events?mine=true&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const e of page.items)
      if (e.venue.id === venue.id && (e.status === 'draft' || e.status === 'published')) existing.set(e.title, e);
    cursor = page.nextCursor;
  } while (cursor);

  for (const demo of demoEvents()) {
    let event = existing.get(demo.title);
    if (!event) {
      event = await api('POST', '/api/events', { venueId: venue.id, ...demo });
      ctx.log(`catalog seed: created "${demo.title}" on ${demo.startsAt.slice(0, 10)}`);
    }
    if (event!.status === 'draft') {
      await api('POST', `/api/events/${event!.id}/publish`);
      ctx.log(`catalog seed: published "${demo.title}"`);
    }
  }
}
