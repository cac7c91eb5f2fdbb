// Bad text is a 400 naming the field, never a 500 or a silently altered value: malformed percent-encoding in a
// path parameter, a NUL anywhere (Postgres text cannot hold it; it used to be stored as the two characters \0),
// control characters in names and titles; and text is stored in Unicode NFC.
import { expect } from 'chai';
import { PROBLEM_BASE } from '@eventtickets/platform';
import { request } from 'node:http';
import { alice, eventInput, startCatalog, venueInput, type Catalog } from './helpers.ts';

/** A GET with a header larger than Node's limit (16 KiB): answered by the HTTP parser, before any middleware. */
function oversizedRequest(url: string): Promise<{ status: number; type?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/events`, { headers: { 'x-padding': 'a'.repeat(20_000) } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('catalog: text input (real Postgres)', function () {
  let c: Catalog;
  let venueId: string;
  before(async function () {
    c = await startCatalog(this);
    venueId = (await c.call('POST', '/api/venues', { as: alice, body: venueInput() })).body.id;
  });
  after(async () => c?.close());

  function expectFieldProblem(res: { status: number; body: any }, errors: Array<{ field: string; message: string }>) {
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.type).to.equal(`${PROBLEM_BASE}validation-error`);
    expect(res.body.errors).to.deep.equal(errors);
  }

  for (const path of ['/api/events/%ZZ', '/api/venues/%ZZ', '/api/events/%C0%AE%C0%AE/publish']) {
    it(`a path parameter that is not percent-encoded UTF-8 is a 400: ${path}`, async () => {
      const method = path.endsWith('/publish') ? 'POST' : 'GET';
      const res = await c.call(method, path, { as: alice });
      expectFieldProblem(res, [{ field: 'path.id', message: 'is not valid percent-encoded UTF-8' }]);
    });
  }

  it('a NUL anywhere is a 400 naming the field, and nothing is stored', async () => {
    const events = await c.count('events');
    const venues = await c.count('venues');
    const title = await c.call('POST', '/api/events', {
      as: alice,
      body: eventInput(venueId, 'Night\u0000Out', 30, { description: 'x' }),
    });
    expectFieldProblem(title, [{ field: 'requestBody.title', message: 'must not contain the NUL character' }]);
    const tier = await c.call('POST', '/api/events', {
      as: alice,
      body: eventInput(venueId, 'Tiered', 30, {
        tiers: [{ name: 'Stalls', amount: 100, currency: 'EUR', sections: ['Stal\u0000ls'] }],
      }),
    });
    expectFieldProblem(tier, [
      { field: 'requestBody.tiers.0.sections.0', message: 'must not contain the NUL character' },
    ]);
    const seat = venueInput('Seat Hall');
    (seat.seatMap.sections as any[]).push({
      name: 'Box',
      rows: [{ label: 'B', seats: [{ label: 'B\u00001', x: 1, y: 1 }] }],
    });
    const deep = await c.call('POST', '/api/venues', { as: alice, body: seat });
    expectFieldProblem(deep, [
      { field: 'requestBody.seatMap.sections.2.rows.0.seats.0.label', message: 'must not contain the NUL character' },
    ]);
    const query = await c.call('GET', '/api/events?q=jazz%00');
    expectFieldProblem(query, [{ field: 'query.q', message: 'must not contain the NUL character' }]);
    expect(await c.count('events')).to.equal(events);
    expect(await c.count('venues')).to.equal(venues);
  });

  it('names and titles refuse control characters (a description keeps newlines and tabs)', async () => {
    const venue = await c.call('POST', '/api/venues', { as: alice, body: venueInput('Bell\u0007Hall', 'Cork\u0085') });
    expectFieldProblem(venue, [
      { field: 'requestBody.name', message: 'must not contain control characters' },
      { field: 'requestBody.city', message: 'must not contain control characters' },
    ]);
    const title = await c.call('POST', '/api/events', {
      as: alice,
      body: eventInput(venueId, 'Two\nLines', 30, { description: 'x' }),
    });
    expectFieldProblem(title, [{ field: 'requestBody.title', message: 'must not contain control characters' }]);
    const tier = await c.call('POST', '/api/events', {
      as: alice,
      body: eventInput(venueId, 'Tier names', 30, {
        tiers: [{ name: 'VIP\u001b[31m', amount: 100, currency: 'EUR', sections: ['Stalls'] }],
      }),
    });
    expectFieldProblem(tier, [{ field: 'requestBody.tiers.0.name', message: 'must not contain control characters' }]);
    const bell = await c.call('POST', '/api/events', {
      as: alice,
      body: eventInput(venueId, 'Bell night', 30, { description: 'ding\u0007' }),
    });
    expectFieldProblem(bell, [{ field: 'requestBody.description', message: 'must not contain control characters' }]);

    const ok = await c.call('POST', '/api/events', {
      as: alice,
      body: eventInput(venueId, 'Long text', 30, { description: 'Line one\n\tLine two' }),
    });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(201);
    expect(ok.body.description).to.equal('Line one\n\tLine two');
  });

  it('stores names and titles in Unicode NFC, so canonically equal text is one', async () => {
    const decomposed = 'Cafe\u0301 Ce\u0301sar'; // e + combining acute accent
    const venue = await c.call('POST', '/api/venues', { as: alice, body: venueInput(decomposed, 'Bre\u0301st') });
    expect(venue.status, JSON.stringify(venue.body)).to.equal(201);
    expect(venue.body.name).to.equal('Caf\u00e9 C\u00e9sar');
    expect(venue.body.city).to.equal('Br\u00e9st');
    const event = await c.call('POST', '/api/events', { as: alice, body: eventInput(venueId, `Soire\u0301e`, 30) });
    expect(event.status, JSON.stringify(event.body)).to.equal(201);
    expect(event.body.title).to.equal('Soir\u00e9e');
    const [row] = (await c.db.query('SELECT title FROM events WHERE id = $1', { bind: [event.body.id] }))[0] as Array<{
      title: string;
    }>;
    expect(row.title).to.equal('Soir\u00e9e');
    // a search typed in either form finds it
    const byName = await c.call('GET', `/api/venues?name=${encodeURIComponent(decomposed)}`, { as: alice });
    expect(byName.status).to.equal(200);
    expect(byName.body.items.map((v: any) => v.id)).to.deep.equal([venue.body.id]);
  });

  it('headers too large: 431 with a problem+json body', async () => {
    const res = await oversizedRequest(c.url);
    expect(res.status).to.equal(431);
    expect(res.type).to.equal('application/problem+json');
    expect(JSON.parse(res.body)).to.include({
      type: `${PROBLEM_BASE}request-header-fields-too-large`,
      status: 431,
    });
  });
});
