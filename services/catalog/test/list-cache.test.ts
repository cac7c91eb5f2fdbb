// The lifetime of cached public search pages: a page lists only events that have not ended, so it must not
// be served from the cache after its first event ends (the configured TTL may be far longer).
import { expect } from 'chai';
import { createReadCache, type ReadCache } from '@eventtickets/platform';
import { searchPage } from '../src/use-cases/reads.ts';
import type { UseCaseDeps } from '../src/use-cases/context.ts';
import { alice, daysFromNow, eventInput, startCatalog, venueInput, type Catalog } from './helpers.ts';

describe('catalog search page cache lifetime (real Postgres)', function () {
  let c: Catalog;
  let closingEndsAt: number;
  before(async function () {
    c = await startCatalog(this);
    const venueId = (await c.call('POST', '/api/venues', { as: alice, body: venueInput() })).body.id;
    const hour = 3_600_000;
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const closing = eventInput(venueId, 'Closing Set', 0, {
      startsAt: at(-hour),
      endsAt: at(hour / 2),
      salesStartAt: at(-2 * hour),
      salesEndAt: at(hour / 4),
    });
    for (const body of [closing, eventInput(venueId, 'Long Weekend', 10, { endsAt: daysFromNow(12) })]) {
      const created = await c.call('POST', '/api/events', { as: alice, body });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect((await c.call('POST', `/api/events/${created.body.id}/publish`, { as: alice })).status).to.equal(200);
    }
    closingEndsAt = Date.parse(closing.endsAt);
  });
  after(async () => c?.close());

  /** The suite's own deps with a cache that records the TTL of every entry set, a day-long configured TTL and the given clock. */
  function depsRecordingTtls(ttls: number[], now: () => Date): UseCaseDeps {
    const cache = createReadCache({ prefix: 'ttl-test:', logger: c.deps.logger });
    const recording: ReadCache = { ...cache, set: (key, value, ttl) => (ttls.push(ttl), cache.set(key, value, ttl)) };
    return { ...c.deps, cache: recording, cacheTtlSeconds: 86_400, now };
  }

  it('keeps a page no longer than its first event lasts; a page of far-off events gets the configured TTL', async () => {
    const ttls: number[] = [];
    const deps = depsRecordingTtls(ttls, () => new Date());
    const closing = JSON.parse((await searchPage(deps, undefined, { q: 'closing' })).text);
    expect(closing.items.map((e: any) => e.title)).to.deep.equal(['Closing Set']);
    const long = JSON.parse((await searchPage(deps, undefined, { q: 'weekend' })).text);
    expect(long.items.map((e: any) => e.title)).to.deep.equal(['Long Weekend']);
    expect(ttls).to.have.length(2);
    expect(ttls[0]).to.be.within(1, 1800); // ends within half an hour, not in a day
    expect(ttls[1]).to.equal(86_400);
  });

  it('does not cache a page whose first event ends within the second', async () => {
    const ttls: number[] = [];
    const deps = depsRecordingTtls(ttls, () => new Date(closingEndsAt - 500)); // the service's clock: half a second before the end
    const page = JSON.parse((await searchPage(deps, undefined, { q: 'closing' })).text);
    expect(page.items).to.have.length(1);
    expect(ttls).to.deep.equal([]);
  });
});
