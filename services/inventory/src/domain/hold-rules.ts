// Pure rules for a hold request: order size, sales window, event state, and the lock keys it needs.
import { problems, HttpProblem } from '@eventtickets/platform';
import type { HoldRequest, HoldView, Price, SaleRules } from './types.ts';

/** Total places a request asks for (seats plus GA quantities). */
export function requestedCount(req: HoldRequest): number {
  return (req.seats?.length ?? 0) + (req.ga ?? []).reduce((sum, g) => sum + g.quantity, 0);
}

/** Throws the problem that stops this request before any lock or write, or returns nothing. */
export function checkHoldAllowed(event: SaleRules, req: HoldRequest, now: Date): void {
  const areaIds = (req.ga ?? []).map((g) => g.areaId);
  const duplicate = areaIds.find((id, i) => areaIds.indexOf(id) !== i);
  if (duplicate) throw problems.validation([{ field: 'ga', message: `area ${duplicate} is listed twice` }]);
  if (event.status === 'cancelled') throw problems.conflict('The event was cancelled', 'event-cancelled');
  if (event.salesStartAt && now < event.salesStartAt) {
    throw problems.conflict(`Sales open at ${event.salesStartAt.toISOString()}`, 'sales-not-open');
  }
  if (event.salesEndAt && now >= event.salesEndAt) {
    throw problems.conflict(`Sales closed at ${event.salesEndAt.toISOString()}`, 'sales-closed');
  }
  const count = requestedCount(req);
  if (count > event.maxSeatsPerOrder) {
    throw new HttpProblem(
      422,
      'too-many-seats',
      'Unprocessable request',
      `At most ${event.maxSeatsPerOrder} places per order; ${count} requested`,
      { maxSeatsPerOrder: event.maxSeatsPerOrder },
    );
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
  for (const s of view.seats)
    byCurrency.set(s.price.currency, (byCurrency.get(s.price.currency) ?? 0) + s.price.amount);
  for (const g of view.ga)
    byCurrency.set(g.price.currency, (byCurrency.get(g.price.currency) ?? 0) + g.price.amount * g.quantity);
  return [...byCurrency.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, amount]) => ({ currency, amount }));
}
