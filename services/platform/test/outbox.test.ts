import { expect } from 'chai';
import { createDatabase, migrate, withTransaction, type Sequelize, type Transaction } from '../src/db.ts';
import { enqueueEvent, outboxMigrations } from '../src/outbox.ts';
import { EventSchemaError, type EventPayloadInput, type EventType } from '../src/events/catalogue.ts';
import { createTestDatabase, dropTestDatabase } from '../src/testing/harness.ts';
import { samplePayload } from '../src/testing/events.ts';

describe('platform/outbox (real Postgres)', () => {
  let url: string;
  let db: Sequelize;
  before(async function () {
    url = await createTestDatabase(this, 'outbox');
    db = createDatabase(url);
    await migrate(db, outboxMigrations);
  });
  after(async () => {
    await db?.close();
    if (url) await dropTestDatabase(url);
  });

  it('stores the event only when its transaction commits', async () => {
    await withTransaction(db, (t) =>
      enqueueEvent(db, t, { type: 'hold.created', aggregateId: 'a1', payload: samplePayload('hold.created') }),
    );
    try {
      await withTransaction(db, async (t) => {
        await enqueueEvent(db, t, { type: 'hold.expired', aggregateId: 'a2', payload: samplePayload('hold.expired') });
        throw new Error('state change failed');
      });
    } catch {
      /* expected */
    }
    const [rows] = await db.query('SELECT type FROM outbox ORDER BY seq');
    expect(rows.map((r: any) => r.type)).to.deep.equal(['hold.created']);
  });

  it("checks the payload against the event catalogue: a wrong payload fails the producer's transaction", async () => {
    const { eventId, ...rest } = samplePayload('event.published');
    const renamed = { ...rest, eventID: eventId } as unknown as EventPayloadInput<'event.published'>;
    const failure = await withTransaction(db, (t) =>
      enqueueEvent(db, t, { type: 'event.published', aggregateId: eventId, payload: renamed }),
    ).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failure).to.be.instanceOf(EventSchemaError);
    expect((failure as EventSchemaError).fields).to.deep.equal(['eventId']);
    expect(failure!.message).to.match(/^event\.published payload does not match the event catalogue: eventId: /);
    const unknown = await withTransaction(db, (t) =>
      enqueueEvent(db, t, { type: 'hold.vanished' as EventType, aggregateId: 'x', payload: {} as never }),
    ).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(unknown).to.match(/"hold\.vanished" is not in the event catalogue/);
    const [rows] = await db.query("SELECT 1 FROM outbox WHERE type IN ('event.published', 'hold.vanished')");
    expect(rows).to.deep.equal([]);
  });

  it('stores the parsed payload (fields outside the catalogue are dropped)', async () => {
    const payload = { ...samplePayload('event.cancelled', { eventId: 'e-9' }), note: 'not catalogued' };
    const stored = await withTransaction(db, (t) =>
      enqueueEvent(db, t, { type: 'event.cancelled', aggregateId: 'e-9', payload }),
    );
    expect(stored.payload).to.deep.equal({ eventId: 'e-9' });
    const [rows] = await db.query('SELECT payload FROM outbox WHERE event_id = :id', {
      replacements: { id: stored.id },
    });
    expect(rows).to.deep.equal([{ payload: { eventId: 'e-9' } }]);
  });

  it('types enqueueEvent by the event name (these lines are checked by tsc, never run)', () => {
    const neverCalled = (t: Transaction) => [
      // @ts-expect-error a renamed field is a type error
      enqueueEvent(db, t, { type: 'event.cancelled', aggregateId: 'e', payload: { eventID: 'e' } }),
      // @ts-expect-error the payload of another event is a type error
      enqueueEvent(db, t, { type: 'hold.created', aggregateId: 'e', payload: samplePayload('event.cancelled') }),
      // @ts-expect-error so is a name outside the catalogue
      enqueueEvent(db, t, { type: 'hold.vanished', aggregateId: 'e', payload: {} }),
      enqueueEvent(db, t, { type: 'hold.confirmed', aggregateId: 'h', payload: samplePayload('hold.confirmed') }),
    ];
    expect(neverCalled).to.be.a('function');
  });

  it('migrations are idempotent', async () => {
    expect(await migrate(db, outboxMigrations)).to.deep.equal([]);
  });
});
