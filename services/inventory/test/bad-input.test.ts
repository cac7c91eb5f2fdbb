// Bad input is a 400 naming the field, never a 500: a path parameter that is not percent-encoded UTF-8 (the
// contract validation used to throw a URIError), a NUL in seat or GA area ids (Postgres refuses it inside the
// arrays the hold is written with: it used to surface as a 500).
import { expect } from 'chai';
import { PROBLEM_BASE } from '@eventtickets/platform';
import type { InventoryConfig } from '../src/config.ts';
import {
  buyer,
  dropDatabase,
  eventPayload,
  publishEvent,
  query,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';

describe('inventory: bad input (real Postgres + Redis)', function () {
  let config: InventoryConfig;
  let app: Instance;

  before(async function () {
    config = await suiteConfig(this);
    app = await startInstance(config);
  });
  after(async () => {
    await app?.stop();
    await dropDatabase(config);
  });

  function expectFieldProblem(res: { status: number; body: any }, errors: Array<{ field: string; message: string }>) {
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.type).to.equal(`${PROBLEM_BASE}validation-error`);
    expect(res.body.errors).to.deep.equal(errors);
  }

  const malformed: Array<[method: string, path: string]> = [
    ['GET', '/api/holds/%ZZ'],
    ['DELETE', '/api/holds/%ZZ'],
    ['GET', '/api/events/%C0%AE%C0%AE/availability'],
    ['GET', '/api/events/%ZZ/availability/stream'],
  ];
  for (const [method, path] of malformed) {
    it(`${method} ${path}: a path parameter that is not percent-encoded UTF-8 is a 400`, async () => {
      const res = await app.call(method, path, { as: buyer('u-bad-path') });
      expectFieldProblem(res, [{ field: 'path.id', message: 'is not valid percent-encoded UTF-8' }]);
    });
  }

  it('a NUL in a seat id, a GA area id or the event id of a hold is a 400 naming it, and holds nothing', async () => {
    const ev = eventPayload({ seats: 5, ga: 10 });
    await publishEvent(app.deps, ev);
    const cases: Array<[body: Record<string, unknown>, field: string]> = [
      [{ eventId: ev.eventId, seats: ['s001', 's002\u0000'] }, 'requestBody.seats.1'],
      [{ eventId: ev.eventId, ga: [{ areaId: 'floor\u0000', quantity: 1 }] }, 'requestBody.ga.0.areaId'],
      [{ eventId: `${ev.eventId}\u0000`, seats: ['s001'] }, 'requestBody.eventId'],
    ];
    for (const [body, field] of cases) {
      const res = await app.call('POST', '/api/holds', { as: buyer('u-nul'), body });
      expectFieldProblem(res, [{ field, message: 'must not contain the NUL character' }]);
    }
    const held = await query(
      app.deps,
      "SELECT count(*)::int AS n FROM seats WHERE event_id = $1 AND status <> 'available'",
      [ev.eventId],
    );
    expect(held[0].n).to.equal(0);
    const holds = await query(app.deps, 'SELECT count(*)::int AS n FROM holds WHERE event_id = $1', [ev.eventId]);
    expect(holds[0].n).to.equal(0);
  });
});
