// Two catalog replicas on one database and one Redis: each keeps hot reads in process memory (the near cache,
// CACHE_NEAR_MS), and an edit through one is seen by the other's next reads through the pub/sub announcement,
// not after the bound: the bound here is a minute, longer than any wait below.
import { expect } from 'chai';
import { waitFor } from '@eventtickets/platform/testing';
import { alice, eventInput, startCatalog, venueInput, type Catalog } from './helpers.ts';

describe('catalog replicas: cached reads invalidated across instances (real Postgres + Redis)', function () {
  let a: Catalog;
  let b: Catalog;
  before(async function () {
    const env = { CACHE_NEAR_MS: '60000' };
    a = await startCatalog(this, { redis: true, env });
    b = await startCatalog(this, { redis: true, env, replicaOf: a });
    await waitFor('both near caches live', () => a.deps.cache.nearLive() && b.deps.cache.nearLive());
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('an edit through one replica reaches the cached detail and search page of the other', async () => {
    const venue = (await a.call('POST', '/api/venues', { as: alice, body: venueInput('Twin Hall', 'Galway') })).body;
    const created = await a.call('POST', '/api/events', { as: alice, body: eventInput(venue.id, 'Twin Night', 30) });
    expect(created.status).to.equal(201);
    const id = created.body.id as string;
    expect((await a.call('POST', `/api/events/${id}/publish`, { as: alice })).status).to.equal(200);
    const path = `/api/events/${id}`;
    const search = '/api/events?city=Galway';
    // b caches both (in Redis and in its own memory)
    expect((await b.call('GET', path)).body.title).to.equal('Twin Night');
    expect((await b.call('GET', search)).body.items.map((e: any) => e.title)).to.deep.equal(['Twin Night']);
    // proof that b answers from its cache: a change behind the service's back stays unseen
    await b.db.query(`UPDATE events SET description = 'behind the back' WHERE id = '${id}'`);
    expect((await b.call('GET', path)).body.description).to.not.equal('behind the back');

    const edited = await a.call('PATCH', path, { as: alice, body: { title: 'Twin Night (Encore)' } });
    expect(edited.status).to.equal(200);
    await waitFor('the edit at the other replica', async () => {
      const res = await b.call('GET', path);
      return res.body.title === 'Twin Night (Encore)' && res.body.description === 'behind the back';
    });
    await waitFor('the search page at the other replica', async () => {
      const res = await b.call('GET', search);
      return res.body.items[0]?.title === 'Twin Night (Encore)';
    });
    // and a cancellation through b reaches a
    expect((await a.call('GET', path)).body.status).to.equal('published');
    expect((await b.call('POST', `${path}/cancel`, { as: alice })).status).to.equal(200);
    await waitFor(
      'the cancellation at the first replica',
      async () => (await a.call('GET', path)).body.status === 'cancelled',
    );
  });
});
