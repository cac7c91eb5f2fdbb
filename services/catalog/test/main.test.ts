// The real entry point as a child process: it creates its database (outside production), migrates, serves,
// relays event.published from the outbox to the Redis stream, counts it in its metrics, and exits 0 on SIGTERM.
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createContract, createRedis, streamKey, type Redis } from '@eventtickets/platform';
import {
  createContractClient,
  createTestDatabase,
  dropTestDatabase,
  requireRedis,
  startServiceProcess,
  TEST_INTERNAL_TOKEN_SECRET,
  uniqueSuffix,
  waitFor,
  type Call,
  type ServiceProcess,
} from '@eventtickets/platform/testing';
import { CONTRACT_FILE } from '../src/app.ts';
import { alice, eventInput, venueInput } from './helpers.ts';

const mainFile = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('catalog: main.ts as a process (real Postgres and Redis)', function () {
  let dbUrl: string | undefined;
  let redis: Redis;
  let catalog: ServiceProcess;
  let call: Call;
  let url: string;
  const prefix = `t${uniqueSuffix()}:`;

  before(async function () {
    const [redisUrl] = requireRedis(this);
    // A database that does not exist yet: outside production the catalog creates its own.
    const existing = await createTestDatabase(this, 'catalog_main');
    await dropTestDatabase(existing);
    dbUrl = existing;
    redis = createRedis(redisUrl!);
    catalog = await startServiceProcess('catalog', mainFile, {
      NODE_ENV: 'development',
      DATABASE_URL: dbUrl,
      REDIS_URL: redisUrl!,
      REDIS_PREFIX: prefix,
      CURSOR_SECRET: 'main-test-cursor-secret-0123456789abcdef',
      INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    });
    url = catalog.url;
    call = createContractClient(url, await createContract(CONTRACT_FILE), { service: 'catalog' });
  });
  after(async () => {
    await catalog?.stop();
    await redis?.quit();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  it('is ready, relays event.published to the event stream and counts it', async () => {
    expect((await fetch(`${url}/readyz`)).status).to.equal(200);
    expect(catalog.output()).to.match(/"applied":\[.*0001-catalog-venues-events/);
    const venue = await call('POST', '/api/venues', { as: alice, body: venueInput() });
    expect(venue.status).to.equal(201);
    const draft = await call('POST', '/api/events', {
      as: alice,
      body: eventInput(venue.body.id, 'Relayed Night', 30),
    });
    expect(draft.status).to.equal(201);
    expect((await call('POST', `/api/events/${draft.body.id}/publish`, { as: alice })).status).to.equal(200);

    const event = await waitFor('event.published on the stream', async () => {
      const entries = await redis.xrange(streamKey(prefix, 'event.published'), '-', '+');
      return entries
        .map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!))
        .find((e) => e.aggregateId === draft.body.id);
    });
    expect(event).to.deep.include({ type: 'event.published', aggregateId: draft.body.id });
    expect(event.payload).to.include({ eventId: draft.body.id, title: 'Relayed Night' });
    const metrics = await fetch(`${url}/metrics`).then((r) => r.text());
    expect(metrics).to.match(/^catalog_events_published_total(\{[^}]*\})? 1$/m);
  });

  it('stops cleanly on SIGTERM (exit 0)', async () => {
    expect(await catalog.stop(), catalog.output()).to.equal(0);
    expect(catalog.output()).to.not.match(/"level":(50|60)/);
  });
});
