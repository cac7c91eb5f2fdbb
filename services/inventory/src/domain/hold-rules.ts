// Pure rules for a hold request: order size, sales window, event state, and the lock keys it needs.
import { problems, HttpProblem } from '@eventtickets/platform';
import type { EventRow, HoldRequest, HoldView, Price } from './types.ts';

/** Total places a request asks for (seats plus GA quantities). */
export function requestedCount(req: HoldRequest): number {
  return (req.seats?.length ?? 0) + (req.ga ?? []).reduce((sum, g) => sum + g.quantity, 0);
}

/** Throws the problem that stops this request before any lock or write, or returns nothing. */
export function checkHoldAllowed(event: EventRow, req: HoldRequest, now: Date): void {
  const areaIds = (req.ga ?? []).map((g) => g.areaId);
  const duplicate = areaIds.find((id, i) => areaIds.indexOf(id) !== i);
  if (duplicate) throw problems.validation([{ field: 'ga', message: `area ${duplicate} is listed twice` }]);
  if (event.status === 'cancelled') throw problems.conflict('The event was cancelled', 'event-cancelled');
  if (event.sales_start_at && now < event.sales_start_at) {
    throw problems.conflict(`Sales open at ${event.sales_start_at.toISOString()}`, 'sales-not-open');
  }
  if (event.sales_end_at && now >= event.sales_end_at) {
    throw problems.conflict(`Sales closed at ${event.sales_end_at.toISOString()}`, 'sales-closed');
  }
  const count = requestedCount(req);
  if (count > event.max_seats_per_order) {
    throw new HttpProblem(422, 'too-many-seats', 'Unprocessable request', `At most ${event.max_seats_per_order} places per order; ${count} requested`, { maxSeatsPerOrder: event.max_seats_per_order });
  }
}

/** Redlock resources for a request: one per seat, sorted so every replica takes them in the same order.
 *  General-admission areas get none: their conditional increment is one atomic row update, so a lock per area
 *  would only queue every buyer of the area behind one key and turn them away as seats-busy while places remain. */
export function lockKeys(req: HoldRequest): string[] {
  return [...new Set((req.seats ?? []).map((s) => `seat:${req.eventId}:${s}`))].sort();
}

/** Sum of prices per currency (amounts are whole minor units, so sums are exact). */
export function totals(view: Pick<HoldView, 'seats' | 'ga'>): Price[] {
  const byCurrency = new Map<string, number>();
  for (const s of view.seats) byCurrency.set(s.price.currency, (byCurrency.get(s.price.currency) ?? 0) + s.price.amount);
  for (const g of view.ga) byCurrency.set(g.price.currency, (byCurrency.get(g.price.currency) ?? 0) + g.price.amount * g.quantity);
  return [...byCurrency.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, amount]) => ({ currency, amount }));
}
