// The event catalogue: every name has a schema, the kit's samples pass it, and a failure names the field.
import { expect } from 'chai';
import {
  EventSchemaError,
  eventCatalogue,
  eventTypes,
  isEventType,
  parseEventPayload,
} from '../src/events/catalogue.ts';
import { samplePayload } from '../src/testing/events.ts';

describe('platform/events catalogue', () => {
  it("names today's events and the ones orders, payments and notifications will emit", () => {
    expect([...eventTypes].sort()).to.deep.equal([
      'event.cancelled',
      'event.published',
      'hold.confirmed',
      'hold.created',
      'hold.expired',
      'hold.released',
      'order.confirmed',
      'order.created',
      'order.failed',
      'order.refunded',
      'payment.failed',
      'payment.succeeded',
      'refund.succeeded',
      'ticket.checked_in',
      'user.registered',
      'user.updated',
    ]);
  });

  it('accepts every sample payload and returns it unchanged', () => {
    for (const type of eventTypes)
      expect(parseEventPayload(type, samplePayload(type)), type).to.deep.equal(samplePayload(type));
  });

  it('accepts event.published with and without the optional fee, tax rate and refund deadline', () => {
    const extra = { serviceFee: 150, taxRate: 20, refundDeadline: '2030-01-01T00:00:00.000Z' };
    expect(parseEventPayload('event.published', samplePayload('event.published', extra))).to.include(extra);
    expect(() => parseEventPayload('event.published', samplePayload('event.published', { taxRate: 120 }))).to.throw(
      EventSchemaError,
      /taxRate/,
    );
  });

  it('names each failing field, with its path inside arrays', () => {
    const payload = samplePayload('event.published');
    const broken = { ...payload, seats: [{ ...payload.seats[0], tierId: 7 }], eventId: undefined };
    let error: EventSchemaError | undefined;
    try {
      parseEventPayload('event.published', broken);
    } catch (err) {
      error = err as EventSchemaError;
    }
    expect(error?.fields).to.deep.equal(['eventId', 'seats.0.tierId']);
    expect(error?.message).to.equal(
      'event.published payload does not match the event catalogue: eventId: Invalid input: expected string, received undefined; seats.0.tierId: Invalid input: expected string, received number',
    );
  });

  it('knows its names', () => {
    expect(isEventType('hold.created')).to.equal(true);
    expect(isEventType('toString')).to.equal(false);
    expect(Object.keys(eventCatalogue)).to.have.length(16);
  });
});
