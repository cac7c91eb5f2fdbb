// Pure rules, no I/O: order limits, sales window, lock keys, totals, the SSE wire format.
import { expect } from 'chai';
import { HttpProblem } from '@eventtickets/platform';
import { checkHoldAllowed, lockKeys, requestedCount, totals } from '../src/domain/hold-rules.ts';
import { observedState } from '../src/domain/hold-state.ts';
import {
  MAX_CHANGES_PER_MESSAGE,
  parseLastEventId,
  sseChanges,
  sseComment,
  sseMessageOfJson,
} from '../src/domain/sse.ts';
import type { SaleRules } from '../src/domain/types.ts';

const now = new Date('2026-06-01T12:00:00Z');
const event: SaleRules = {
  status: 'published',
  salesStartAt: new Date('2026-05-01T00:00:00Z'),
  salesEndAt: new Date('2026-06-02T00:00:00Z'),
  reservationMinutes: 10,
  maxSeatsPerOrder: 4,
};

function slugOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as HttpProblem).slug;
  }
}

describe('inventory domain: hold rules', () => {
  it('counts seats and GA places together against maxSeatsPerOrder', () => {
    const req = { eventId: 'e1', seats: ['a', 'b'], ga: [{ areaId: 'f', quantity: 2 }] };
    expect(requestedCount(req)).to.equal(4);
    expect(slugOf(() => checkHoldAllowed(event, req, now))).to.equal(undefined);
    expect(slugOf(() => checkHoldAllowed(event, { ...req, ga: [{ areaId: 'f', quantity: 3 }] }, now))).to.equal(
      'too-many-seats',
    );
  });

  it('enforces the sales window (start inclusive, end exclusive) and cancellation', () => {
    const req = { eventId: 'e1', seats: ['a'] };
    expect(slugOf(() => checkHoldAllowed(event, req, new Date('2026-04-30T23:59:59Z')))).to.equal('sales-not-open');
    expect(slugOf(() => checkHoldAllowed(event, req, event.salesStartAt!))).to.equal(undefined);
    expect(slugOf(() => checkHoldAllowed(event, req, event.salesEndAt!))).to.equal('sales-closed');
    expect(slugOf(() => checkHoldAllowed({ ...event, salesStartAt: null, salesEndAt: null }, req, now))).to.equal(
      undefined,
    );
    expect(slugOf(() => checkHoldAllowed({ ...event, status: 'cancelled' }, req, now))).to.equal('event-cancelled');
  });

  it('refuses an area listed twice', () => {
    expect(
      slugOf(() =>
        checkHoldAllowed(
          event,
          {
            eventId: 'e1',
            ga: [
              { areaId: 'f', quantity: 1 },
              { areaId: 'f', quantity: 1 },
            ],
          },
          now,
        ),
      ),
    ).to.equal('validation-error');
  });

  it('lock keys are per seat, namespaced by event and sorted; general admission takes none', () => {
    expect(lockKeys({ eventId: 'e1', seats: ['b2', 'a1'], ga: [{ areaId: 'floor', quantity: 2 }] })).to.deep.equal([
      'seat:e1:a1',
      'seat:e1:b2',
    ]);
    expect(lockKeys({ eventId: 'e1', ga: [{ areaId: 'floor', quantity: 2 }] })).to.deep.equal([]);
  });

  it('totals sum whole minor units per currency, GA by quantity', () => {
    const price = (amount: number, currency = 'EUR') => ({ amount, currency });
    const seats = [
      { seatId: 'a', label: 'A', section: null, row: null, tierId: 't', price: price(10) },
      { seatId: 'b', label: 'B', section: null, row: null, tierId: 't', price: price(25) },
    ];
    const ga = [{ areaId: 'f', name: 'F', tierId: 't', quantity: 3, price: price(1000, 'USD') }];
    expect(totals({ seats, ga })).to.deep.equal([
      { currency: 'EUR', amount: 35 },
      { currency: 'USD', amount: 3000 },
    ]);
    expect(totals({ seats: [], ga: [] })).to.deep.equal([]);
  });
});

describe('inventory domain: SSE wire format', () => {
  it('writes event, id and data lines ending in a blank line', () => {
    expect(sseMessageOfJson('change', 7, '{"a":1}')).to.equal('event: change\nid: 7\ndata: {"a":1}\n\n');
    // JSON text over several lines: one data line each (the client joins them with line breaks)
    expect(sseMessageOfJson('snapshot', undefined, '[1,\n2]')).to.equal('event: snapshot\ndata: [1,\ndata: 2]\n\n');
    expect(sseComment('ping')).to.equal(': ping\n\n');
  });

  it('sends changes as `changes` messages: an array, id = its last seq, at most MAX_CHANGES_PER_MESSAGE each', () => {
    expect(sseChanges([{ seq: 3 }, { seq: 4 }])).to.equal('event: changes\nid: 4\ndata: [{"seq":3},{"seq":4}]\n\n');
    expect(sseChanges([])).to.equal('');
    const many = Array.from({ length: MAX_CHANGES_PER_MESSAGE + 1 }, (_, i) => ({ seq: i + 1 }));
    const blocks = sseChanges(many).split('\n\n').filter(Boolean);
    expect(blocks.map((b) => b.split('\n')[1])).to.deep.equal([`id: ${MAX_CHANGES_PER_MESSAGE}`, `id: ${many.length}`]);
    expect(JSON.parse(blocks[1]!.split('\ndata: ')[1]!)).to.deep.equal([{ seq: many.length }]);
  });

  it('reads Last-Event-ID as a sequence number only when it is one', () => {
    expect(parseLastEventId('42')).to.equal(42);
    expect(parseLastEventId(undefined)).to.equal(undefined);
    expect(parseLastEventId('4x')).to.equal(undefined);
    expect(parseLastEventId('-1')).to.equal(undefined);
  });
});

describe('inventory domain: observed hold state', () => {
  const expiresAt = new Date('2026-06-01T12:10:00Z');
  const active = { status: 'active' as const, expiresAt, endedAt: null, endReason: null };

  it('an active hold reads active until its expiry, and expired from its expiry on (ended at its expiry)', () => {
    expect(observedState(active, new Date('2026-06-01T12:09:59.999Z'))).to.deep.equal({
      status: 'active',
      endedAt: null,
      endReason: null,
    });
    expect(observedState(active, expiresAt)).to.deep.equal({
      status: 'expired',
      endedAt: expiresAt,
      endReason: 'expired',
    });
    expect(observedState(active, new Date('2026-06-01T13:00:00Z'))).to.deep.equal({
      status: 'expired',
      endedAt: expiresAt,
      endReason: 'expired',
    });
  });

  it('an ended or confirmed hold reads as recorded, whatever the clock says', () => {
    const later = new Date('2026-06-02T00:00:00Z');
    const endedAt = new Date('2026-06-01T12:05:00Z');
    expect(observedState({ ...active, status: 'confirmed' }, later)).to.deep.equal({
      status: 'confirmed',
      endedAt: null,
      endReason: null,
    });
    expect(observedState({ ...active, status: 'released', endedAt, endReason: 'released' }, later)).to.deep.equal({
      status: 'released',
      endedAt,
      endReason: 'released',
    });
    expect(observedState({ ...active, status: 'expired', endedAt: later, endReason: 'expired' }, later)).to.deep.equal({
      status: 'expired',
      endedAt: later,
      endReason: 'expired',
    });
  });
});
