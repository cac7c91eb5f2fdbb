import type http from 'node:http';
import { expect } from 'chai';
import { listen, type RunningServer } from '@eventtickets/platform';
import { internalHeaders } from '@eventtickets/platform/testing';
import { seedDemo } from '../src/use-cases/demo-seed.ts';
import { startCatalog, type Catalog } from './helpers.ts';

/** Stands in for users + gateway: a login that checks the demo password (counted in `logins`), then forwards
 *  /api/* to the in-process catalog with the identity the real gateway derives from the token (signed internal
 *  token); the public event search pass without a token, as at the real gateway. */
async function fakeGateway(catalogUrl: string, password: string): Promise<RunningServer & { logins: number }> {
  const token = 'organizer-token';
  const counts = { logins: 0 };
  const server = await listen(async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    if (req.url === '/api/auth/login') {
      counts.logins++;
      const creds = JSON.parse(body);
      const ok = creds.email === 'organizer@example.com' && creds.password === password;
      res
        .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
        .end(JSON.stringify(ok ? { accessToken: token } : { type: 'invalid-credentials' }));
      return;
    }
    const publicRead = req.method === 'GET' && /^\/api\/events(\?|$)/.test(req.url ?? '');
    if (!publicRead && req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end();
    const upstream = await fetch(catalogUrl + req.url, {
      method: req.method,
      headers: {
        'content-type': 'application/json',
        ...(req.headers.authorization
          ? internalHeaders('catalog', { userId: 'demo-organizer', role: 'organizer' })
          : {}),
      },
      body: body || undefined,
    });
    res
      .writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
      .end(await upstream.text());
  }, 0);
  return Object.defineProperty(server, 'logins', { get: () => counts.logins }) as RunningServer & { logins: number };
}

describe('catalog demo seed (through the public API)', function () {
  let c: Catalog;
  /** A change made behind the API's back (an interrupted run, time passing) drops the cached search pages, as
   *  the catalog's own writes do: the seed's first look is the public search. */
  const changeBehindTheApi = async (sql: string) => {
    await c.db.query(sql);
    await c.deps.cache.bump('events:list');
  };
  let gateway: Awaited<ReturnType<typeof fakeGateway>>;
  before(async function () {
    c = await startCatalog(this);
    gateway = await fakeGateway(c.url, 'demo-pass');
  });
  after(async () => {
    await gateway?.close(1000);
    await c?.close();
  });

  it('creates the venue and published events once; a second run changes nothing and does not sign in', async () => {
    const logs: string[] = [];
    await seedDemo({ gatewayUrl: gateway.url, demoPassword: 'demo-pass', log: (m) => logs.push(m) });
    expect(gateway.logins).to.equal(1);
    expect(await c.count('venues')).to.equal(1);
    expect(await c.count('events', `status = 'published'`)).to.equal(4);
    expect(await c.count('outbox', `type = 'event.published'`)).to.equal(4);
    const [venue] = (await c.db.query('SELECT name, seat_count, ga_capacity, time_zone FROM venues'))[0] as any[];
    expect(venue).to.deep.include({
      name: 'Harbour Hall',
      seat_count: 328,
      ga_capacity: 200,
      time_zone: 'Europe/Dublin',
    });
    const list = await c.call('GET', '/api/events');
    expect(list.body.items).to.have.length(4);
    expect(list.body.items.every((e: any) => e.startsAtLocal.endsWith('T19:30:00'))).to.equal(true);

    await seedDemo({ gatewayUrl: gateway.url, demoPassword: 'demo-pass', log: (m) => logs.push(m) });
    expect(await c.count('venues')).to.equal(1);
    expect(await c.count('events')).to.equal(4);
    expect(await c.count('outbox')).to.equal(4);
    // everything there: public reads found it, no sign-in (no scrypt on an everyday npm start)
    expect(gateway.logins).to.equal(1);
    expect(logs).to.include('catalog seed: the 4 demo events at "Harbour Hall" exist');
  });

  it('publishes a draft left behind by an interrupted run', async () => {
    await changeBehindTheApi(
      `UPDATE events SET status = 'draft', published_at = NULL, seat_map_snapshot = NULL WHERE title = 'Late Night Jazz Session'`,
    );
    await seedDemo({ gatewayUrl: gateway.url, demoPassword: 'demo-pass', log: () => undefined });
    expect(await c.count('events', `status = 'published'`)).to.equal(4);
    expect(await c.count('events')).to.equal(4);
  });

  it('schedules a demo event anew once the earlier one has ended; the ended one stays as history', async () => {
    await changeBehindTheApi(`UPDATE events SET sales_start_at = now() - interval '10 days', sales_end_at = now() - interval '9 days',
      starts_at = now() - interval '9 days', ends_at = now() - interval '9 days' + interval '3 hours' WHERE title = 'Harbour Lights Orchestra'`);
    const before = (await c.call('GET', '/api/events')).body.items.map((e: any) => e.title);
    expect(before).to.not.include('Harbour Lights Orchestra');
    const published = await c.count('outbox', `type = 'event.published'`);
    await seedDemo({ gatewayUrl: gateway.url, demoPassword: 'demo-pass', log: () => undefined });
    const after = (await c.call('GET', '/api/events')).body.items;
    expect(after.map((e: any) => e.title)).to.include('Harbour Lights Orchestra');
    expect(after).to.have.length(4);
    expect(await c.count('events', `title = 'Harbour Lights Orchestra'`)).to.equal(2);
    expect(await c.count('outbox', `type = 'event.published'`)).to.equal(published + 1);
    // The new one is upcoming: a further run creates nothing.
    await seedDemo({ gatewayUrl: gateway.url, demoPassword: 'demo-pass', log: () => undefined });
    expect(await c.count('events')).to.equal(5);
  });

  it('fails loudly with a wrong password when something is to be created', async () => {
    await changeBehindTheApi(
      `UPDATE events SET status = 'draft', published_at = NULL WHERE title = 'Stand-up at the Hall'`,
    );
    let error: Error | undefined;
    await seedDemo({ gatewayUrl: gateway.url, demoPassword: 'wrong', log: () => undefined }).catch((e) => (error = e));
    expect(error?.message).to.match(/POST \/api\/auth\/login answered 401/);
  });
});
