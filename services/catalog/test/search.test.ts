import { expect } from 'chai';
import { alice, daysFromNow, eventInput, startCatalog, venueInput, type Catalog } from './helpers.ts';

async function publish(
  c: Catalog,
  venueId: string,
  title: string,
  days: number,
  extra: Record<string, unknown> = {},
): Promise<any> {
  const created = await c.call('POST', '/api/events', { as: alice, body: eventInput(venueId, title, days, extra) });
  expect(created.status, JSON.stringify(created.body)).to.equal(201);
  const published = await c.call('POST', `/api/events/${created.body.id}/publish`, { as: alice });
  expect(published.status, JSON.stringify(published.body)).to.equal(200);
  return published.body;
}

async function walk(
  c: Catalog,
  query: string,
  limit: number,
  between?: (page: number) => Promise<void>,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const path: string = `/api/events?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await c.call('GET', path);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    ids.push(...res.body.items.map((e: any) => e.id));
    cursor = res.body.nextCursor;
    pages++;
    if (between) await between(pages);
  } while (cursor);
  return { ids, pages };
}

for (const mode of ['redis', 'in-process LRU'] as const) {
  describe(`catalog search, ETags and cache (${mode})`, function () {
    let c: Catalog;
    let dublin: string;
    let cork: string;
    const expectedOrder: string[] = [];
    before(async function () {
      c = await startCatalog(this, { redis: mode === 'redis' });
      dublin = (await c.call('POST', '/api/venues', { as: alice, body: venueInput('Harbour Hall', 'Dublin') })).body.id;
      cork = (await c.call('POST', '/api/venues', { as: alice, body: venueInput('Marina Rooms', 'Cork') })).body.id;
      const made: any[] = [];
      // Three share a start time: the id breaks the tie, so the keyset order is still total.
      for (let i = 0; i < 9; i++)
        made.push(
          await publish(c, i % 3 === 0 ? cork : dublin, `Night ${i}`, 10 + (i < 3 ? 0 : i), {
            category: i % 2 ? 'theatre' : 'concert',
          }),
        );
      made.push(
        await publish(c, dublin, 'Jazz Brunch Special', 15, {
          description: 'Smooth saxophone quartets',
          category: 'concert',
        }),
      );
      made.push(await publish(c, cork, 'Late Jazz', 25, { category: 'concert' }));
      await c.call('POST', '/api/events', { as: alice, body: eventInput(dublin, 'Jazz Draft', 12) }); // drafts are never listed
      made.sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.id.localeCompare(b.id));
      expectedOrder.push(...made.map((e) => e.id));
    });
    after(async () => c?.close());

    it('pages through every published event once, in (startsAt, id) order', async () => {
      const { ids, pages } = await walk(c, 'sort=date', 3);
      expect(ids).to.deep.equal(expectedOrder);
      expect(pages).to.equal(4);
      const desc = await walk(c, 'sort=-date', 4);
      expect(desc.ids).to.deep.equal([...expectedOrder].reverse());
    });

    it('stays stable when events are inserted between pages: no duplicates, no gaps', async () => {
      let early: any;
      let late: any;
      const { ids } = await walk(c, 'sort=date&city=Dublin', 2, async (page) => {
        if (page === 1) {
          early = await publish(c, dublin, 'Inserted Early', 1); // before the cursor: not on later pages
          late = await publish(c, dublin, 'Inserted Late', 60); // after the cursor: must appear
        }
      });
      expect(new Set(ids).size).to.equal(ids.length);
      expect(ids).to.include(late.id);
      expect(ids).to.not.include(early.id);
      const now = await walk(c, 'sort=date&city=Dublin', 50);
      expect(ids).to.deep.equal(now.ids.filter((id) => id !== early.id));
      // Leave the suite's data as the other tests expect it.
      for (const e of [early, late]) await c.call('POST', `/api/events/${e.id}/cancel`, { as: alice });
    });

    it('filters by full-text query, city, category and date range', async () => {
      const titles = async (q: string) => (await walk(c, q, 50)).ids.length;
      const jazz = await c.call('GET', '/api/events?q=jazz');
      expect(jazz.body.items.map((e: any) => e.title)).to.deep.equal(['Jazz Brunch Special', 'Late Jazz']);
      const sax = await c.call('GET', '/api/events?q=saxophone%20quartet'); // stemmed, from the description
      expect(sax.body.items.map((e: any) => e.title)).to.deep.equal(['Jazz Brunch Special']);
      const inCork = await c.call('GET', '/api/events?q=jazz&city=cork');
      expect(inCork.body.items.map((e: any) => e.title)).to.deep.equal(['Late Jazz']);
      expect(inCork.body.items[0].venue).to.include({ name: 'Marina Rooms', city: 'Cork' });
      expect(await titles('category=theatre')).to.equal(4);
      const range = await c.call(
        'GET',
        `/api/events?from=${encodeURIComponent(daysFromNow(15, 0))}&to=${encodeURIComponent(daysFromNow(16, 0))}`,
      );
      expect(range.body.items.map((e: any) => e.title)).to.have.members(['Night 5', 'Jazz Brunch Special']);
      expect((await c.call('GET', '/api/events?q=draft')).body.items).to.deep.equal([]);
    });

    it('rejects a tampered or foreign cursor with 400 invalid-cursor', async () => {
      const first = await c.call('GET', '/api/events?limit=2');
      const cursor: string = first.body.nextCursor;
      const [data, mac] = cursor.split('.') as [string, string];
      const forged = Buffer.from(JSON.stringify({ s: '2000-01-01T00:00:00.000Z', i: expectedOrder[0] })).toString(
        'base64url',
      );
      for (const bad of [`${forged}.${mac}`, `${data}.${mac.slice(0, -2)}xx`, 'garbage']) {
        const res = await c.call('GET', `/api/events?limit=2&cursor=${encodeURIComponent(bad)}`);
        expect(res.status, bad).to.equal(400);
        expect(res.body.type).to.equal('https://eventtickets.dev/problems/invalid-cursor');
      }
      const otherQuery = await c.call('GET', `/api/events?limit=2&city=Cork&cursor=${encodeURIComponent(cursor)}`);
      expect(otherQuery.status).to.equal(400);
      expect((await c.call('GET', '/api/events?limit=0')).status).to.equal(400);
    });

    it('rejects date ranges that are no usable instants, or empty, with 400 naming the field', async () => {
      const cases: Array<[string, string[]]> = [
        ['from=2030-06-30T23:59:60Z', ['query.from']], // a leap second passes the format but is no instant
        ['from=0000-01-01T00:00:00Z', ['query.from']], // Postgres has no year 0
        ['to=9999-12-31T23:59:59-14:00', ['query.to']], // year 10000 in UTC
        ['from=2031-01-01T00:00:00Z&to=2030-01-01T00:00:00Z', ['query.to']],
        ['from=2030-01-01T00:00:00Z&to=2030-01-01T00:00:00Z', ['query.to']],
      ];
      for (const [query, fields] of cases) {
        const res = await c.call('GET', `/api/events?${query.replace(/\+/g, '%2B')}`);
        expect(res.status, query).to.equal(400);
        expect(res.body.type).to.equal('https://eventtickets.dev/problems/validation-error');
        expect(
          res.body.errors.map((e: any) => e.field),
          query,
        ).to.deep.equal(fields);
      }
      const ok = await c.call(
        'GET',
        `/api/events?from=${encodeURIComponent(daysFromNow(0, 0))}&to=${encodeURIComponent('9999-12-31T23:59:59Z')}`,
      );
      expect(ok.status).to.equal(200);
      expect(ok.body.items.length).to.be.greaterThan(0);
    });

    it('answers 304 to If-None-Match on detail and list', async () => {
      const path = `/api/events/${expectedOrder[0]}`;
      const first = await c.call('GET', path);
      expect(first.status).to.equal(200);
      const etag = first.headers.get('etag')!;
      expect(etag).to.match(/^W\/".+"$/);
      expect(first.headers.get('cache-control')).to.equal('public, max-age=5, must-revalidate');
      const again = await c.call('GET', path, { headers: { 'if-none-match': etag } });
      expect(again.status).to.equal(304);
      expect(again.body).to.equal(undefined);
      expect((await c.call('GET', path, { headers: { 'if-none-match': 'W/"other"' } })).status).to.equal(200);
      const list = await c.call('GET', '/api/events?q=jazz');
      const listAgain = await c.call('GET', '/api/events?q=jazz', {
        headers: { 'if-none-match': list.headers.get('etag')! },
      });
      expect(listAgain.status).to.equal(304);
      const metrics = await fetch(`${c.url}/metrics`).then((r) => r.text());
      expect(metrics).to.match(/catalog_read_cache_total\{[^}]*kind="detail"[^}]*result="hit"[^}]*\} [1-9]/);
    });

    it('serves hot reads from the cache and invalidates them on edit', async () => {
      const id = expectedOrder[1]!;
      const path = `/api/events/${id}`;
      const before = await c.call('GET', path);
      const listBefore = await c.call('GET', '/api/events?q=night');
      // A write behind the service's back is invisible while cached: proof the reads come from the cache.
      await c.db.query(`UPDATE events SET description = 'changed behind the back' WHERE id = '${id}'`);
      expect((await c.call('GET', path)).body.description).to.equal(before.body.description);
      expect((await c.call('GET', '/api/events?q=night')).body).to.deep.equal(listBefore.body);
      // An edit through the service invalidates detail and list.
      const edited = await c.call('PATCH', path, { as: alice, body: { title: `${before.body.title} (Encore)` } });
      expect(edited.status).to.equal(200);
      const after = await c.call('GET', path, { headers: { 'if-none-match': before.headers.get('etag')! } });
      expect(after.status).to.equal(200);
      expect(after.body.title).to.equal(`${before.body.title} (Encore)`);
      expect(after.body.description).to.equal('changed behind the back');
      const listAfter = await c.call('GET', '/api/events?q=night');
      expect(listAfter.body.items.find((e: any) => e.id === id).title).to.equal(`${before.body.title} (Encore)`);
      // Cancelling removes it from search at once.
      await c.call('POST', `${path}/cancel`, { as: alice });
      expect((await c.call('GET', '/api/events?q=night')).body.items.map((e: any) => e.id)).to.not.include(id);
      expectedOrder.splice(1, 1);
    });

    it('an edit through the upper-case spelling of an id invalidates what the lower-case read cached', async () => {
      const ev = await publish(c, dublin, 'Case Study', 40);
      const lower = `/api/events/${ev.id}`;
      const upper = `/api/events/${ev.id.toUpperCase()}`;
      expect((await c.call('GET', lower)).body.title).to.equal('Case Study'); // now cached
      const edited = await c.call('PATCH', upper, { as: alice, body: { title: 'Case Closed' } });
      expect(edited.status).to.equal(200);
      expect((await c.call('GET', lower)).body.title).to.equal('Case Closed');
      expect((await c.call('GET', upper)).body.title).to.equal('Case Closed');
      await c.call('POST', `${upper}/cancel`, { as: alice });
      expect((await c.call('GET', lower)).body.status).to.equal('cancelled');
    });

    it('renaming or moving a venue invalidates the cached details and pages of its events', async () => {
      const venue = (await c.call('POST', '/api/venues', { as: alice, body: venueInput('Old Mill', 'Limerick') })).body;
      const ev = await publish(c, venue.id, 'Mill Session', 50);
      const path = `/api/events/${ev.id}`;
      expect((await c.call('GET', path)).body.venue).to.include({ name: 'Old Mill', city: 'Limerick' }); // cached
      expect((await c.call('GET', '/api/events?city=Limerick')).body.items.map((e: any) => e.id)).to.deep.equal([
        ev.id,
      ]); // cached
      const moved = await c.call('PATCH', `/api/venues/${venue.id}`, {
        as: alice,
        body: { name: 'New Mill', city: 'Galway', address: '2 Mill Lane' },
      });
      expect(moved.status).to.equal(200);
      expect((await c.call('GET', path)).body.venue).to.include({
        name: 'New Mill',
        city: 'Galway',
        address: '2 Mill Lane',
      });
      expect((await c.call('GET', '/api/events?city=Limerick')).body.items).to.deep.equal([]);
      expect((await c.call('GET', '/api/events?city=Galway')).body.items.map((e: any) => e.id)).to.deep.equal([ev.id]);
      expect((await c.call('GET', '/api/events?q=mill')).body.items.map((e: any) => e.venue.name)).to.deep.equal([
        'New Mill',
      ]);
      await c.call('POST', `${path}/cancel`, { as: alice });
    });

    it("lists an organizer's own events in every status with mine=true", async () => {
      expect((await c.call('GET', '/api/events?mine=true')).status).to.equal(401);
      const res = await c.call('GET', '/api/events?mine=true&q=jazz', { as: alice });
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('private, no-cache');
      expect(res.body.items.map((e: any) => e.title)).to.have.members([
        'Jazz Brunch Special',
        'Late Jazz',
        'Jazz Draft',
      ]);
      expect(res.body.items.find((e: any) => e.title === 'Jazz Draft').status).to.equal('draft');
    });
  });
}
