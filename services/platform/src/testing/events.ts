// Valid example payloads for every catalogued event, for tests that produce or consume events without caring
// about most fields: samplePayload('hold.created', { holdId: 'h1' }).
import type { EventPayloadInput, EventType } from '../events/catalogue.ts';

const at = '2030-01-01T20:00:00.000Z';
const user = {
  userId: 'u-1',
  email: 'buyer@example.test',
  name: 'A Buyer',
  phone: null,
  role: 'buyer' as const,
  notificationPrefs: { email: true, sms: false },
};
const hold = { holdId: 'h-1', eventId: 'e-1', userId: 'u-1', seats: ['s-1'], ga: [{ areaId: 'floor', quantity: 2 }] };
const totals = [{ amount: 4550, currency: 'EUR' }];

const samples: { [T in EventType]: EventPayloadInput<T> } = {
  'user.registered': user,
  'user.updated': user,
  'event.published': {
    eventId: 'e-1',
    organizerId: 'org-1',
    title: 'Test night',
    venueId: 'v-1',
    venueName: 'The Hall',
    timeZone: 'Europe/Paris',
    startsAt: at,
    endsAt: '2030-01-01T23:00:00.000Z',
    salesStartAt: '2029-01-01T00:00:00.000Z',
    salesEndAt: at,
    reservationMinutes: 10,
    maxSeatsPerOrder: 6,
    tiers: [{ tierId: 'std', name: 'Standard', amount: 4550, currency: 'EUR' }],
    seats: [{ seatId: 's-1', label: 'A1', section: 'Stalls', row: 'A', tierId: 'std', x: 0, y: 0 }],
    gaAreas: [{ areaId: 'floor', name: 'Floor', tierId: 'std', capacity: 100 }],
  },
  'event.cancelled': { eventId: 'e-1' },
  'hold.created': hold,
  'hold.released': hold,
  'hold.expired': hold,
  'hold.confirmed': { ...hold, orderId: 'o-1' },
  'order.created': { orderId: 'o-1', userId: 'u-1', eventId: 'e-1', holdId: 'h-1', totals },
  'order.confirmed': {
    orderId: 'o-1',
    userId: 'u-1',
    eventId: 'e-1',
    tickets: [{ ticketId: 't-1', seatLabel: 'A1' }],
    totals,
  },
  'order.failed': { orderId: 'o-1', userId: 'u-1', reason: 'declined' },
  'order.refunded': {
    orderId: 'o-1',
    userId: 'u-1',
    eventId: 'e-1',
    amount: 4550,
    currency: 'EUR',
    reason: 'buyer-cancelled',
  },
  'payment.succeeded': { paymentId: 'p-1', orderId: 'o-1', amount: 4550, currency: 'EUR' },
  'payment.failed': { paymentId: 'p-1', orderId: 'o-1', amount: 4550, currency: 'EUR', reason: 'declined' },
  'refund.succeeded': { refundId: 'r-1', paymentId: 'p-1', orderId: 'o-1', amount: 4550, currency: 'EUR' },
  'ticket.checked_in': { ticketId: 't-1', eventId: 'e-1', at },
};

/** A payload that passes the catalogue schema of `type`, with `overrides` applied on top. */
export function samplePayload<T extends EventType>(
  type: T,
  overrides: Partial<EventPayloadInput<T>> = {},
): EventPayloadInput<T> {
  return structuredClone({ ...samples[type], ...overrides }) as EventPayloadInput<T>;
}
