import { expect } from 'chai';
import {
  alice,
  bob,
  buyer,
  daysFromNow,
  eventInput,
  fullTiers,
  startCatalog,
  venueInput,
  type As,
  type Catalog,
} from './helpers.ts';

describe('catalog events: organizer lifecycle (real Postgres)', function () {
  let c: Catalog;
  let venueId: string;
  before(async function () {
    c = await startCatalog(this);
    venueId = (await c.call('POST', '/api/venues', { as: alice, body: venueInput() })).body.id;
  });
  after(async () => c?.close());

  async function draft(title: string, extra: Record<string, unknown> = {}) {
    const res = await c.call('POST', '/api/events', { as: alice, body: eventInput(venueId, title, 30, extra) });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  it('creates a draft with defaults, tier ids and a priced seat map', async () => {
    const res = await c.call('POST', '/api/events', { as: alice, body: eventInput(venueId, 'Draft Night', 30) });
    expect(res.status).to.equal(201);
    expect(res.body).to.include({
      status: 'draft',
      reservationMinutes: 10,
      maxSeatsPerOrder: 8,
      timeZone: 'Europe/Dublin',
      organizerId: alice.userId,
    });
    expect(res.body.priceFrom).to.deep.equal({ amount: 2000, currency: 'EUR' });
    const stallsTier = res.body.tiers.find((t: any) => t.name === 'Stalls').id;
    expect(res.body.seatMap.sections[0].rows[0].seats[0].tierId).to.equal(stallsTier);
    expect(res.body.seatMap.gaAreas[0].tierId).to.equal(res.body.tiers.find((t: any) => t.name === 'Standing').id);
    expect(res.body.salesEndAt).to.equal(res.body.startsAt); // sales close when the show starts
  });

  it('reads a wall-clock time without offset in the venue time zone', async () => {
    const year = new Date().getUTCFullYear() + 1;
    const body = await draft('Summer Local', {
      startsAt: `${year}-07-01T20:00`,
      endsAt: `${year}-07-01T23:30`,
      salesStartAt: `${year}-01-10T09:00`,
    });
    expect(body.startsAt).to.equal(`${year}-07-01T19:00:00.000Z`); // Irish summer time is UTC+1
    expect(body.startsAtLocal).to.equal(`${year}-07-01T20:00:00`);
    expect(body.salesStartAt).to.equal(`${year}-01-10T09:00:00.000Z`); // winter: UTC+0
  });

  describe('bad input is a clear 4xx and stores nothing', () => {
    const cases: Array<[string, () => Record<string, unknown>, number, string, string[]]> = [
      [
        'unknown venue',
        () => eventInput('00000000-0000-4000-8000-000000000000', 'X', 30),
        422,
        'unknown-venue',
        ['venueId unknown-venue'],
      ],
      [
        'end before start',
        () => eventInput(venueId, 'X', 30, { endsAt: daysFromNow(29) }),
        422,
        'invalid-event',
        ['endsAt end-before-start', 'salesEndAt sales-window-after-event'],
      ],
      [
        'a sales window after the event',
        () => eventInput(venueId, 'X', 30, { salesStartAt: daysFromNow(31), salesEndAt: daysFromNow(32) }),
        422,
        'invalid-event',
        ['salesStartAt sales-window-after-event', 'salesEndAt sales-window-after-event'],
      ],
      [
        'an empty sales window',
        () => eventInput(venueId, 'X', 30, { salesStartAt: daysFromNow(10), salesEndAt: daysFromNow(5) }),
        422,
        'invalid-event',
        ['salesEndAt empty-sales-window'],
      ],
      [
        'an unknown currency',
        () => eventInput(venueId, 'X', 30, { tiers: [{ ...fullTiers[0], currency: 'XYZ' }] }),
        422,
        'invalid-event',
        ['tiers[0].currency unknown-currency'],
      ],
      [
        'mixed currencies',
        () => eventInput(venueId, 'X', 30, { tiers: [fullTiers[0], { ...fullTiers[1], currency: 'USD' }] }),
        422,
        'invalid-event',
        ['tiers mixed-currencies'],
      ],
      [
        'tiers naming places the venue lacks',
        () =>
          eventInput(venueId, 'X', 30, {
            tiers: [
              { name: 'A', amount: 1, currency: 'EUR', sections: ['Balcony'], seats: ['Z-9'], gaAreas: ['Pit'] },
              { name: 'a', amount: 1, currency: 'EUR', sections: [] },
            ],
          }),
        422,
        'invalid-event',
        [
          'tiers[0].sections[0] unknown-section',
          'tiers[0].seats[0] unknown-seat',
          'tiers[0].gaAreas[0] unknown-ga-area',
          'tiers[1].name duplicate-tier',
        ],
      ],
      [
        'a section priced twice',
        () => eventInput(venueId, 'X', 30, { tiers: [fullTiers[0], { ...fullTiers[1], sections: ['Stalls'] }] }),
        422,
        'invalid-event',
        ['tiers[1].sections[0] assigned-twice'],
      ],
      [
        'years the database cannot store',
        () =>
          eventInput(venueId, 'X', 30, {
            startsAt: '0000-01-01T20:00',
            endsAt: '0000-01-01T22:00',
            salesStartAt: '9999-12-31T23:00:00-12:00',
          }),
        422,
        'invalid-event',
        ['startsAt date-out-of-range', 'endsAt date-out-of-range', 'salesStartAt date-out-of-range'],
      ],
      [
        'a not-a-date',
        () => eventInput(venueId, 'X', 30, { startsAt: '2030-02-30T20:00' }),
        422,
        'invalid-event',
        ['startsAt invalid-date'],
      ],
      [
        'a negative price',
        () => eventInput(venueId, 'X', 30, { tiers: [{ ...fullTiers[0], amount: -100 }] }),
        400,
        'validation-error',
        [],
      ],
      ['a blank title', () => eventInput(venueId, '   ', 30), 400, 'validation-error', []],
      ['an unknown field', () => eventInput(venueId, 'X', 30, { venue: 'x' }), 400, 'validation-error', []],
    ];
    for (const [name, body, status, slug, expected] of cases) {
      it(name, async () => {
        const before = await c.count('events');
        const res = await c.call('POST', '/api/events', { as: alice, body: body() });
        expect(res.status, JSON.stringify(res.body)).to.equal(status);
        expect(res.body.type).to.equal(`https://eventtickets.dev/problems/${slug}`);
        if (expected.length) expect(res.body.problems.map((p: any) => `${p.path} ${p.code}`)).to.have.members(expected);
        expect(await c.count('events')).to.equal(before);
      });
    }

    it("another organizer's venue is unknown", async () => {
      const res = await c.call('POST', '/api/events', { as: bob, body: eventInput(venueId, 'Borrowed', 30) });
      expect(res.status).to.equal(422);
      expect(res.body.type).to.equal('https://eventtickets.dev/problems/unknown-venue');
    });
  });

  it('keeps drafts and edits to their organizer: others get 404, buyers 403', async () => {
    const ev = await draft('Private Draft');
    const path = `/api/events/${ev.id}`;
    expect((await c.call('GET', path)).status).to.equal(404);
    expect((await c.call('GET', path, { as: bob })).status).to.equal(404);
    const own = await c.call('GET', path, { as: alice });
    expect(own.status).to.equal(200);
    expect(own.headers.get('cache-control')).to.equal('private, no-cache');
    for (const [method, p, body] of [
      ['PATCH', path, { title: 'Stolen' }],
      ['POST', `${path}/publish`, undefined],
      ['POST', `${path}/cancel`, undefined],
    ] as const) {
      const res = await c.call(method, p, { as: bob, body });
      expect(res.status, `${method} ${p}`).to.equal(404);
    }
    expect((await c.call('PATCH', path, { as: buyer, body: { title: 'x' } })).status).to.equal(403);
    expect((await c.call('GET', path, { as: alice })).body.title).to.equal('Private Draft');
    expect(await c.count('outbox')).to.equal(0);
  });

  it('edits a draft freely and revalidates what changed', async () => {
    const ev = await draft('Editable');
    const res = await c.call('PATCH', `/api/events/${ev.id}`, {
      as: alice,
      body: {
        title: 'Edited',
        maxSeatsPerOrder: 4,
        tiers: [{ name: 'All', amount: 1000, currency: 'GBP', sections: ['Stalls', 'Circle'], gaAreas: ['Standing'] }],
      },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.include({ title: 'Edited', maxSeatsPerOrder: 4 });
    expect(res.body.tiers.map((t: any) => t.name)).to.deep.equal(['All']);
    const blank = await c.call('PATCH', `/api/events/${ev.id}`, { as: alice, body: { title: ' \t ' } });
    expect(blank.status).to.equal(400);
    expect(blank.body.errors.map((e: any) => e.field)).to.deep.equal(['requestBody.title']);
    const bad = await c.call('PATCH', `/api/events/${ev.id}`, { as: alice, body: { endsAt: daysFromNow(1) } });
    expect(bad.status).to.equal(422);
    const bobsVenue = (await c.call('POST', '/api/venues', { as: bob, body: venueInput('Bob Hall') })).body;
    for (const venue of ['00000000-0000-4000-8000-000000000000', bobsVenue.id]) {
      const moved = await c.call('PATCH', `/api/events/${ev.id}`, { as: alice, body: { venueId: venue } });
      expect(moved.status).to.equal(422);
      expect(moved.body.type).to.equal('https://eventtickets.dev/problems/unknown-venue');
    }
    expect((await c.call('GET', `/api/events/${ev.id}`, { as: alice })).body.venue.id).to.equal(venueId);
    expect((await c.call('GET', `/api/events/${ev.id}`, { as: alice })).body.endsAt).to.equal(res.body.endsAt);
  });

  it('moving a draft moves sales that close at the start with it; an explicit close stays', async () => {
    const ev = await draft('Movable');
    expect(ev.salesEndAt).to.equal(ev.startsAt);
    const earlier = await c.call('PATCH', `/api/events/${ev.id}`, {
      as: alice,
      body: { startsAt: daysFromNow(20), endsAt: daysFromNow(20, 23) },
    });
    expect(earlier.status, JSON.stringify(earlier.body)).to.equal(200);
    expect(earlier.body.salesEndAt).to.equal(daysFromNow(20));
    const later = await c.call('PATCH', `/api/events/${ev.id}`, {
      as: alice,
      body: { startsAt: daysFromNow(40), endsAt: daysFromNow(40, 23) },
    });
    expect(later.body.salesEndAt).to.equal(daysFromNow(40));

    const fixedClose = await draft('Fixed Close', { salesEndAt: daysFromNow(25) });
    const moved = await c.call('PATCH', `/api/events/${fixedClose.id}`, {
      as: alice,
      body: { startsAt: daysFromNow(35), endsAt: daysFromNow(35, 23) },
    });
    expect(moved.status).to.equal(200);
    expect(moved.body.salesEndAt).to.equal(daysFromNow(25));
  });

  it('publish emits exactly one event.published with the documented payload, in the same transaction', async () => {
    const ev = await draft('Published Gala', { reservationMinutes: 7, maxSeatsPerOrder: 6 });
    const before = await c.count('outbox');
    const res = await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.status).to.equal('published');
    expect(res.body.publishedAt).to.be.a('string');

    const again = await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice });
    expect(again.status).to.equal(409);
    expect(again.body.type).to.equal('https://eventtickets.dev/problems/invalid-transition');
    expect(again.body).to.include({ status: 409, eventStatus: 'published' }); // the HTTP status stays the problem's status

    const [rows] = await c.db.query(`SELECT type, aggregate_id, payload FROM outbox WHERE aggregate_id = '${ev.id}'`);
    expect(rows).to.have.length(1);
    expect(await c.count('outbox')).to.equal(before + 1);
    const row = rows[0] as any;
    expect(row.type).to.equal('event.published');
    const p = row.payload;
    expect(Object.keys(p).sort()).to.deep.equal(
      [
        'eventId',
        'organizerId',
        'title',
        'venueId',
        'venueName',
        'timeZone',
        'startsAt',
        'endsAt',
        'salesStartAt',
        'salesEndAt',
        'reservationMinutes',
        'maxSeatsPerOrder',
        'tiers',
        'seats',
        'gaAreas',
      ].sort(),
    );
    expect(p).to.include({
      eventId: ev.id,
      organizerId: alice.userId,
      title: 'Published Gala',
      venueId,
      venueName: 'Harbour Hall',
      timeZone: 'Europe/Dublin',
      startsAt: ev.startsAt,
      endsAt: ev.endsAt,
      reservationMinutes: 7,
      maxSeatsPerOrder: 6,
    });
    expect(p.tiers).to.deep.equal(
      res.body.tiers.map((t: any) => ({ tierId: t.id, name: t.name, amount: t.amount, currency: t.currency })),
    );
    expect(p.seats).to.have.length(18);
    const stalls = res.body.tiers.find((t: any) => t.name === 'Stalls').id;
    const firstSeat = res.body.seatMap.sections[0].rows[0].seats[0];
    expect(p.seats[0]).to.deep.equal({
      seatId: firstSeat.id,
      label: 'A-1',
      section: 'Stalls',
      row: 'A',
      tierId: stalls,
      x: 10,
      y: 10,
    });
    expect(new Set(p.seats.map((s: any) => s.seatId)).size).to.equal(18);
    expect(p.gaAreas).to.deep.equal([
      {
        areaId: res.body.seatMap.gaAreas[0].id,
        name: 'Standing',
        tierId: res.body.tiers.find((t: any) => t.name === 'Standing').id,
        capacity: 50,
      },
    ]);
  });

  it('concurrent publishes of one draft: one succeeds, the other is a 409, one event.published', async () => {
    const ev = await draft('Race Night');
    const replies = await Promise.all(
      [1, 2, 3].map(() => c.call('POST', `/api/events/${ev.id}/publish`, { as: alice })),
    );
    expect(replies.map((r) => r.status).sort()).to.deep.equal([200, 409, 409]);
    expect(await c.count('outbox', `aggregate_id = '${ev.id}' AND type = 'event.published'`)).to.equal(1);
  });

  it('refuses to publish with unpriced seats, and nothing is emitted', async () => {
    const ev = await draft('Half Priced', { tiers: [fullTiers[0]] });
    const before = await c.count('outbox');
    const res = await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice });
    expect(res.status).to.equal(422);
    expect(res.body.type).to.equal('https://eventtickets.dev/problems/unpriced-seats');
    expect(res.body.problems.map((p: any) => p.code)).to.have.members(['unpriced-seats', 'unpriced-ga-area']);
    expect(res.body.problems[0].message).to.include('K-1');
    expect(await c.count('outbox')).to.equal(before);
    expect((await c.call('GET', `/api/events/${ev.id}`, { as: alice })).body.status).to.equal('draft');
  });

  it('refuses to publish a draft whose sales window has already closed (nobody could buy), and nothing is emitted', async () => {
    const ev = await draft('Too Late To Sell');
    await c.db.query(
      `UPDATE events SET sales_start_at = now() - interval '2 days', sales_end_at = now() - interval '1 day' WHERE id = '${ev.id}'`,
    );
    const before = await c.count('outbox');
    const res = await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice });
    expect(res.status).to.equal(422);
    expect(res.body.problems.map((p: any) => [p.path, p.code])).to.deep.equal([['salesEndAt', 'sales-closed']]);
    expect(await c.count('outbox')).to.equal(before);
    expect((await c.call('GET', `/api/events/${ev.id}`, { as: alice })).body.status).to.equal('draft');
  });

  it('a published event keeps venue, schedule and tiers; descriptive edits still work', async () => {
    const ev = await draft('Locked In');
    await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice });
    const locked = await c.call('PATCH', `/api/events/${ev.id}`, {
      as: alice,
      body: { startsAt: daysFromNow(40), title: 'Moved' },
    });
    expect(locked.status).to.equal(409);
    expect(locked.body).to.include({ type: 'https://eventtickets.dev/problems/event-locked' });
    expect(locked.body.fields).to.deep.equal(['startsAt']);
    const ok = await c.call('PATCH', `/api/events/${ev.id}`, {
      as: alice,
      body: { title: 'Locked In (Late Show)', description: 'Now later' },
    });
    expect(ok.status).to.equal(200);
    expect(ok.body.startsAt).to.equal(ev.startsAt);
    expect(ok.body.title).to.equal('Locked In (Late Show)');
  });

  it('a venue with published events refuses seat-map edits with 409, but may be renamed', async () => {
    const venue = (await c.call('POST', '/api/venues', { as: alice, body: venueInput('Frozen Hall', 'Galway') })).body;
    const ev = (await c.call('POST', '/api/events', { as: alice, body: eventInput(venue.id, 'Frozen Night', 20) }))
      .body;
    const seatMap = { sections: [{ name: 'Only', rows: 1, seatsPerRow: 2, origin: { x: 0, y: 0 }, spacing: 10 }] };
    const whileDraft = await c.call('PATCH', `/api/venues/${venue.id}`, {
      as: alice,
      body: { seatMap: venueInput().seatMap },
    });
    expect(whileDraft.status, JSON.stringify(whileDraft.body)).to.equal(200);
    expect((await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice })).status).to.equal(200);
    const refused = await c.call('PATCH', `/api/venues/${venue.id}`, { as: alice, body: { seatMap } });
    expect(refused.status).to.equal(409);
    expect(refused.body.type).to.equal('https://eventtickets.dev/problems/seat-map-locked');
    expect((await c.call('GET', `/api/venues/${venue.id}`, { as: alice })).body.seatCount).to.equal(18);
    const renamed = await c.call('PATCH', `/api/venues/${venue.id}`, { as: alice, body: { name: 'Thawed Hall' } });
    expect(renamed.status).to.equal(200);
    const detail = await c.call('GET', `/api/events/${ev.id}`);
    expect(detail.body.venue.name).to.equal('Thawed Hall');
  });

  it('once its published events have ended, a venue may be re-planned; the ended event keeps its frozen seat map', async () => {
    const venue = (await c.call('POST', '/api/venues', { as: alice, body: venueInput('Old Barn', 'Sligo') })).body;
    const ev = (await c.call('POST', '/api/events', { as: alice, body: eventInput(venue.id, 'Barn Dance', 20) })).body;
    const published = await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice });
    expect(published.status).to.equal(200);
    const seatMap = { gaAreas: [{ name: 'Field', capacity: 500 }] };
    expect((await c.call('PATCH', `/api/venues/${venue.id}`, { as: alice, body: { seatMap } })).status).to.equal(409);
    await c.db.query(
      `UPDATE events SET starts_at = now() - interval '2 days', ends_at = now() - interval '1 day', sales_start_at = now() - interval '3 days', sales_end_at = now() - interval '2 days' WHERE id = '${ev.id}'`,
    );
    const replanned = await c.call('PATCH', `/api/venues/${venue.id}`, { as: alice, body: { seatMap } });
    expect(replanned.status, JSON.stringify(replanned.body)).to.equal(200);
    expect(replanned.body).to.include({ seatCount: 0, gaCapacity: 500 });
    const ended = await c.call('GET', `/api/events/${ev.id}`);
    expect(ended.body.status).to.equal('ended');
    expect(ended.body.seatMap).to.deep.equal(published.body.seatMap);
  });

  it('cancel emits event.cancelled once; the cancelled event stays public', async () => {
    const ev = await draft('Called Off');
    await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice });
    const res = await c.call('POST', `/api/events/${ev.id}/cancel`, { as: alice });
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('cancelled');
    expect((await c.call('POST', `/api/events/${ev.id}/cancel`, { as: alice })).status).to.equal(409);
    expect((await c.call('PATCH', `/api/events/${ev.id}`, { as: alice, body: { title: 'Back on' } })).status).to.equal(
      409,
    );
    const [rows] = await c.db.query(`SELECT type, payload FROM outbox WHERE aggregate_id = '${ev.id}' ORDER BY seq`);
    expect(rows.map((r: any) => r.type)).to.deep.equal(['event.published', 'event.cancelled']);
    expect((rows[1] as any).payload).to.deep.equal({ eventId: ev.id });
    const pub = await c.call('GET', `/api/events/${ev.id}`);
    expect(pub.status).to.equal(200);
    expect(pub.body.status).to.equal('cancelled');
  });

  it('cancelling a draft that was never published emits nothing (nothing elsewhere knows it)', async () => {
    const ev = await draft('Never Announced');
    const res = await c.call('POST', `/api/events/${ev.id}/cancel`, { as: alice });
    expect([res.status, res.body.status]).to.deep.equal([200, 'cancelled']);
    const [rows] = await c.db.query(`SELECT type FROM outbox WHERE aggregate_id = '${ev.id}'`);
    expect(rows).to.deep.equal([]);
  });

  it("an admin creating an event at an organizer's venue creates it for that organizer", async () => {
    const admin: As = { userId: 'admin-1', role: 'admin' };
    const created = await c.call('POST', '/api/events', { as: admin, body: eventInput(venueId, 'Made by admin', 30) });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const mine = await c.call('GET', '/api/events?mine=true&limit=100', { as: alice });
    expect(mine.body.items.map((e: any) => e.id)).to.include(created.body.id);
    expect(
      (await c.call('PATCH', `/api/events/${created.body.id}`, { as: alice, body: { title: 'Renamed by owner' } }))
        .status,
    ).to.equal(200);
  });

  it('reports a published event whose end has passed as ended', async () => {
    const ev = await draft('Yesterday');
    await c.call('POST', `/api/events/${ev.id}/publish`, { as: alice });
    await c.db.query(
      `UPDATE events SET starts_at = now() - interval '2 days', ends_at = now() - interval '1 day', sales_start_at = now() - interval '3 days', sales_end_at = now() - interval '2 days' WHERE id = '${ev.id}'`,
    );
    const res = await c.call('GET', `/api/events/${ev.id}`);
    expect(res.body.status).to.equal('ended');
    expect((await c.call('POST', `/api/events/${ev.id}/cancel`, { as: alice })).status).to.equal(409);
    const list = await c.call('GET', '/api/events?q=Yesterday');
    expect(list.body.items).to.deep.equal([]);
  });
});
