import { expect } from 'chai';
import { alice, bob, buyer, startCatalog, venueInput, type Catalog } from './helpers.ts';

describe('catalog venues (real Postgres)', function () {
  let c: Catalog;
  before(async function () {
    c = await startCatalog(this);
  });
  after(async () => c?.close());

  it('creates a venue whose generated sections expand to labelled seats with coordinates', async () => {
    const res = await c.call('POST', '/api/venues', { as: alice, body: venueInput() });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.headers.get('location')).to.equal(`/api/venues/${res.body.id}`);
    const stalls = res.body.seatMap.sections[0];
    expect(stalls.rows.map((r: any) => r.label)).to.deep.equal(['A', 'B', 'C']);
    expect(stalls.rows[2].seats.map((s: any) => s.label)).to.deep.equal(['C-1', 'C-2', 'C-3', 'C-4']);
    expect(stalls.rows[1].seats[2]).to.include({ x: 50, y: 30, number: 3 });
    const circle = res.body.seatMap.sections[1];
    expect(circle.rows.map((r: any) => r.label)).to.deep.equal(['K', 'L']);
    expect(circle.rows[1].seats[0]).to.include({ label: 'L-1', x: 10, y: 225 });
    expect(res.body).to.include({
      seatCount: 18,
      gaCapacity: 50,
      timeZone: 'Europe/Dublin',
      organizerId: alice.userId,
    });

    const got = await c.call('GET', `/api/venues/${res.body.id}`, { as: alice });
    expect(got.status).to.equal(200);
    expect(got.body.seatMap).to.deep.equal(res.body.seatMap);
  });

  it('rejects an invalid seat map listing every problem, and stores nothing', async () => {
    const before = await c.count('venues');
    const body = {
      name: 'Broken Hall',
      city: 'Cork',
      timeZone: 'Europe/Dublin',
      seatMap: {
        sections: [
          {
            name: 'Front',
            rows: [
              {
                label: 'A',
                seats: [
                  { label: 'A-1', x: 10, y: 10 },
                  { label: 'A-1', x: 30, y: 10 },
                  { label: 'A-3', x: -5, y: 10 },
                ],
              },
            ],
          },
          { name: 'front', rows: [{ label: 'B', seats: [] }] },
          { name: 'Back', rows: 2, seatsPerRow: 2, origin: { x: 9990, y: 0 }, spacing: 20 },
        ],
        gaAreas: [{ name: 'Pit', capacity: 0 }],
      },
    };
    const res = await c.call('POST', '/api/venues', { as: alice, body });
    expect(res.status).to.equal(422);
    expect(res.headers.get('content-type')).to.match(/application\/problem\+json/);
    expect(res.body.type).to.equal('https://eventtickets.dev/problems/invalid-seat-map');
    const found = res.body.problems.map((p: any) => `${p.path} ${p.code}`);
    expect(found).to.have.members([
      'seatMap.sections[0].rows[0].seats[1].label duplicate-label',
      'seatMap.sections[0].rows[0].seats[2] coordinates-out-of-range',
      'seatMap.sections[1].name duplicate-name',
      'seatMap.sections[1].rows[0].seats empty-row',
      'seatMap.sections[2] coordinates-out-of-range',
      'seatMap.sections[2] duplicate-label',
      'seatMap.gaAreas[0].capacity invalid-capacity',
    ]);
    expect(await c.count('venues')).to.equal(before);
  });

  it('rejects duplicate labels across generated sections and an unknown time zone', async () => {
    const before = await c.count('venues');
    const body = venueInput('Twin Hall');
    body.timeZone = 'Europe/Atlantis';
    body.seatMap.sections[1] = {
      name: 'Balcony',
      rows: 2,
      seatsPerRow: 2,
      origin: { x: 500, y: 500 },
      spacing: 20,
    } as any;
    const res = await c.call('POST', '/api/venues', { as: alice, body });
    expect(res.status).to.equal(422);
    expect(res.body.problems.map((p: any) => `${p.path} ${p.code}`)).to.have.members([
      'timeZone unknown-time-zone',
      'seatMap.sections[1] duplicate-label',
    ]);
    expect(await c.count('venues')).to.equal(before);
  });

  it('refuses a small body that asks for millions of generated seats with 422 too-many-seats', async () => {
    const before = await c.count('venues');
    const sections = Array.from({ length: 100 }, (_, i) => ({
      name: `S${i}`,
      rows: 200,
      seatsPerRow: 500,
      origin: { x: 0, y: 0 },
      spacing: 1,
      labelPrefix: `s${i}`,
    }));
    const res = await c.call('POST', '/api/venues', {
      as: alice,
      body: { name: 'Mega Dome', city: 'Cork', timeZone: 'Europe/Dublin', seatMap: { sections } },
    });
    expect(res.status).to.equal(422);
    expect(res.body.type).to.equal('https://eventtickets.dev/problems/invalid-seat-map');
    expect(res.body.problems.map((p: any) => `${p.path} ${p.code}`)).to.deep.equal(['seatMap.sections too-many-seats']);
    expect(await c.count('venues')).to.equal(before);
  });

  it('rejects bodies that break the contract with 400 listing the fields', async () => {
    const res = await c.call('POST', '/api/venues', {
      as: alice,
      body: { name: 'X', city: 'Y', timeZone: 'UTC', seatMap: {}, extra: 1 },
    });
    expect(res.status).to.equal(400);
    expect(res.body.type).to.equal('https://eventtickets.dev/problems/validation-error');
    expect(res.body.errors.map((e: any) => e.field)).to.include('requestBody.extra');
    const before = await c.count('venues');
    const blank = await c.call('POST', '/api/venues', { as: alice, body: { ...venueInput(), name: '   ', city: ' ' } });
    expect(blank.status).to.equal(400);
    expect(blank.body.errors.map((e: any) => e.field)).to.have.members(['requestBody.name', 'requestBody.city']);
    expect(await c.count('venues')).to.equal(before);
  });

  it('is for organizers only, and another organizer sees a 404', async () => {
    const created = await c.call('POST', '/api/venues', { as: alice, body: venueInput('Alice Arena') });
    expect((await c.call('POST', '/api/venues', { body: venueInput() })).status).to.equal(401);
    expect((await c.call('POST', '/api/venues', { as: buyer, body: venueInput() })).status).to.equal(403);
    const other = await c.call('GET', `/api/venues/${created.body.id}`, { as: bob });
    expect(other.status).to.equal(404);
    const bobs = await c.call('GET', '/api/venues', { as: bob });
    expect(bobs.body.items).to.deep.equal([]);
    const mine = await c.call('GET', '/api/venues?name=Alice%20Arena', { as: alice });
    expect(mine.body.items.map((v: any) => v.id)).to.deep.equal([created.body.id]);
  });

  it("edits only one's own venue; an invalid seat map is refused listing its problems and changes nothing", async () => {
    const venue = (await c.call('POST', '/api/venues', { as: alice, body: venueInput('Edit Hall') })).body;
    const path = `/api/venues/${venue.id}`;
    const stolen = await c.call('PATCH', path, { as: bob, body: { name: 'Bob Hall' } });
    expect(stolen.status).to.equal(404);
    const broken = await c.call('PATCH', path, {
      as: alice,
      body: {
        name: 'Renamed Too',
        seatMap: {
          sections: [
            {
              name: 'X',
              rows: [
                {
                  label: 'A',
                  seats: [
                    { label: 'A-1', x: 1, y: 1 },
                    { label: 'A-1', x: 2, y: 1 },
                  ],
                },
              ],
            },
          ],
        },
      },
    });
    expect(broken.status).to.equal(422);
    expect(broken.body.type).to.equal('https://eventtickets.dev/problems/invalid-seat-map');
    expect(broken.body.problems.map((p: any) => `${p.path} ${p.code}`)).to.deep.equal([
      'seatMap.sections[0].rows[0].seats[1].label duplicate-label',
    ]);
    const unchanged = await c.call('GET', path, { as: alice });
    expect(unchanged.body).to.deep.equal(venue);
    const ok = await c.call('PATCH', path, {
      as: alice,
      body: { seatMap: { gaAreas: [{ name: 'Lawn', capacity: 900 }] } },
    });
    expect(ok.status).to.equal(200);
    expect(ok.body).to.include({ name: 'Edit Hall', seatCount: 0, gaCapacity: 900 });
  });
});
