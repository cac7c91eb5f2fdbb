// The announced single-node mode (no REDIS_URL): in-process locks and pub/sub, the event bus over the shared
// Postgres bus database. Holds, the live stream and catalog events still work end to end.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { enqueueEvent, withTransaction } from '@eventtickets/platform';
import type { InventoryConfig } from '../src/config.ts';
import { buyer, dropDatabase, eventPayload, query, startInstance, suiteConfig, type Instance } from './helpers.ts';
import { createTestDatabase, openSse, waitFor } from '@eventtickets/platform/testing';

describe('inventory: single-node in-memory mode (real Postgres, no Redis)', function () {
  let config: InventoryConfig;
  let busUrl: string;
  let app: Instance;

  before(async function () {
    busUrl = await createTestDatabase(this, 'bus');
    config = await suiteConfig(this, { REDIS_URL: '', BUS_DATABASE_URL: busUrl });
    app = await startInstance(config);
  });
  after(async () => {
    await app?.stop();
    await dropDatabase(config);
    if (busUrl) await dropDatabase({ DATABASE_URL: busUrl } as InventoryConfig);
  });

  it('materialises from the Postgres bus, holds, streams and refuses a double hold', async () => {
    const ev = eventPayload({ seats: 5 });
    const id = randomUUID();
    await withTransaction(app.deps.db, (t) =>
      enqueueEvent(app.deps.db, t, { id, type: 'event.published', aggregateId: ev.eventId, payload: ev }),
    );
    await waitFor(
      'event.published processed from the Postgres bus',
      async () => (await query(app.deps, 'SELECT 1 FROM processed_events WHERE event_id = $1', [id])).length > 0,
    );

    const live = await openSse(`${app.url}/api/events/${ev.eventId}/availability/stream`);
    expect((await live.next()).event).to.equal('snapshot');
    const results = await Promise.all(
      ['a', 'b', 'c'].map((u) =>
        app.call('POST', '/api/holds', { as: buyer(u), body: { eventId: ev.eventId, seats: ['s001', 's002'] } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).to.have.length(1);
    expect(results.filter((r) => r.status !== 201).every((r) => [409, 503].includes(r.status))).to.equal(true);
    expect(await live.next()).to.deep.include({ event: 'changes', id: '1' });
    live.close();
  });
});
