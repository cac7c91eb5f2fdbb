// The catalogue of domain events: one zod schema per event name, the contract between the service that emits
// an event and the services that consume it (shared/DESIGN.md, "Event catalogue").
//
//   name                  producer  payload
//   user.registered       users     userId, email, name, phone, role, notificationPrefs
//   user.updated          users     same as user.registered
//   event.published       catalog   eventId, organizerId, title, venue, schedule, sales window, limits,
//                                   tiers, seats, gaAreas; serviceFee, taxRate, refundDeadline when set
//   event.cancelled       catalog   eventId
//   hold.created          inventory holdId, eventId, userId, seats, ga
//   hold.released         inventory same
//   hold.expired          inventory same
//   hold.confirmed        inventory same + orderId
//   order.created         orders    orderId, userId, eventId, holdId, totals
//   order.confirmed       orders    orderId, userId, eventId, tickets [{ ticketId, seatLabel }], totals
//   order.failed          orders    orderId, userId, reason
//   order.refunded        orders    orderId, userId, eventId, amount, currency, reason
//   payment.succeeded     payments  paymentId, orderId, amount, currency
//   payment.failed        payments  paymentId, orderId, amount, currency, reason?
//   refund.succeeded      payments  refundId, paymentId, orderId, amount, currency
//   ticket.checked_in     orders    ticketId, eventId, at
//
// How it is used: `enqueueEvent` accepts only a catalogued name with its payload type (a wrong payload is a
// type error) and checks the payload at run time, so a producer bug fails the producer's transaction. The bus
// checks every message of a subscribed type against the same schema before the handler runs; a message that
// fails goes to the dead-letter stream at once, with the reason naming the field, and the handler receives
// the parsed, typed payload. Objects are not strict: a consumer ignores (strips) fields it does not know, so a
// producer may add a field before the catalogue names it, but never rename or drop one.
// Changing a payload: add optional fields freely; anything else is a new event name (e.g. "order.created.v2").
import { z } from 'zod';

const id = z.string().min(1).max(200);
const instant = z.iso.datetime({ offset: true });
/** Money in minor units (cents), never floating point. */
const minor = z.number().int();
const currency = z.string().min(1).max(8);
const price = z.object({ amount: minor, currency });

const userPayload = z.object({
  userId: id,
  email: z.string().min(1),
  name: z.string(),
  phone: z.string().nullable(),
  role: z.enum(['buyer', 'organizer', 'admin']),
  notificationPrefs: z.object({ email: z.boolean(), sms: z.boolean() }),
});

const eventPublished = z.object({
  eventId: id,
  organizerId: id,
  title: z.string(),
  venueId: id,
  venueName: z.string(),
  timeZone: z.string().min(1),
  startsAt: instant,
  endsAt: instant,
  salesStartAt: instant,
  salesEndAt: instant,
  reservationMinutes: z.number().int().positive(),
  maxSeatsPerOrder: z.number().int().positive(),
  tiers: z.array(z.object({ tierId: id, name: z.string(), amount: minor.nonnegative(), currency })),
  seats: z.array(
    z.object({
      seatId: id,
      label: z.string(),
      section: z.string().nullable(),
      row: z.string().nullable(),
      tierId: id,
      x: z.number().nullable(),
      y: z.number().nullable(),
    }),
  ),
  gaAreas: z.array(z.object({ areaId: id, name: z.string(), tierId: id, capacity: z.number().int().nonnegative() })),
  /** Per ticket, minor units. */
  serviceFee: minor.nonnegative().optional(),
  /** Percentage included in prices. */
  taxRate: z.number().nonnegative().max(100).optional(),
  /** Last moment a buyer may cancel for a refund (default: 24 h before the start, decided by orders). */
  refundDeadline: instant.optional(),
});

const holdPayload = z.object({
  holdId: id,
  eventId: id,
  userId: id,
  seats: z.array(id),
  ga: z.array(z.object({ areaId: id, quantity: z.number().int().positive() })),
});

/** An order's totals, one per currency (like a hold's). */
const totals = z.array(price);

export const eventCatalogue = {
  'user.registered': userPayload,
  'user.updated': userPayload,
  'event.published': eventPublished,
  'event.cancelled': z.object({ eventId: id }),
  'hold.created': holdPayload,
  'hold.released': holdPayload,
  'hold.expired': holdPayload,
  'hold.confirmed': holdPayload.extend({ orderId: id }),
  'order.created': z.object({ orderId: id, userId: id, eventId: id, holdId: id, totals }),
  'order.confirmed': z.object({
    orderId: id,
    userId: id,
    eventId: id,
    tickets: z.array(z.object({ ticketId: id, seatLabel: z.string() })),
    totals,
  }),
  /** reason: e.g. 'hold-expired-refunded', 'declined'. */
  'order.failed': z.object({ orderId: id, userId: id, reason: z.string().min(1) }),
  'order.refunded': z.object({
    orderId: id,
    userId: id,
    eventId: id,
    amount: minor.nonnegative(),
    currency,
    reason: z.enum(['buyer-cancelled', 'event-cancelled', 'late-payment']),
  }),
  'payment.succeeded': z.object({
    paymentId: id,
    orderId: id,
    amount: minor.nonnegative(),
    currency,
    reason: z.string().optional(),
  }),
  'payment.failed': z.object({
    paymentId: id,
    orderId: id,
    amount: minor.nonnegative(),
    currency,
    reason: z.string().optional(),
  }),
  'refund.succeeded': z.object({ refundId: id, paymentId: id, orderId: id, amount: minor.nonnegative(), currency }),
  'ticket.checked_in': z.object({ ticketId: id, eventId: id, at: instant }),
} as const;

export type EventCatalogue = typeof eventCatalogue;
/** A catalogued event name. */
export type EventType = keyof EventCatalogue;
/** The payload a consumer receives for an event name (parsed). */
export type EventPayload<T extends EventType> = z.output<EventCatalogue[T]>;
/** The payload a producer passes for an event name. */
export type EventPayloadInput<T extends EventType> = z.input<EventCatalogue[T]>;

export const eventTypes = Object.keys(eventCatalogue) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventCatalogue, type);
}

/** A payload that does not match its event's schema; the message names each failing field. */
export class EventSchemaError extends Error {
  readonly eventType: string;
  readonly fields: string[];
  constructor(eventType: string, problems: Array<{ path: string; message: string }>) {
    super(
      `${eventType} payload does not match the event catalogue: ${problems.map((p) => `${p.path || '(payload)'}: ${p.message}`).join('; ')}`,
    );
    this.name = 'EventSchemaError';
    this.eventType = eventType;
    this.fields = problems.map((p) => p.path);
  }
}

/** Checks a payload against its event's schema; returns the parsed payload or throws EventSchemaError. */
export function parseEventPayload<T extends EventType>(type: T, payload: unknown): EventPayload<T>;
export function parseEventPayload(type: string, payload: unknown): unknown;
export function parseEventPayload(type: string, payload: unknown): unknown {
  if (!isEventType(type))
    throw new EventSchemaError(type, [{ path: '', message: `"${type}" is not in the event catalogue` }]);
  const result = eventCatalogue[type].safeParse(payload);
  if (!result.success) {
    throw new EventSchemaError(
      type,
      result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return result.data;
}
