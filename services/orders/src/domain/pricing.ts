// Pricing an order from a hold: pure. Lines are the hold's prices (a snapshot), the service fee is per ticket,
// tax is included in the prices (informational line). Amounts are whole minor units.
import type { EventSettings, Fee, HoldView, OrderLine, Tax } from './types.ts';

export interface Priced {
  lines: OrderLine[];
  fees: Fee[];
  tax: Tax | null;
  amount: number;
  currency: string;
  tickets: number;
}

export class MixedCurrenciesError extends Error {}

export function priceHold(hold: HoldView, settings: EventSettings): Priced {
  const lines: OrderLine[] = [
    ...hold.seats.map((s) => ({
      kind: 'seat' as const,
      seatId: s.seatId,
      description: [s.section, s.label].filter(Boolean).join(' '),
      tierId: s.tierId,
      quantity: 1,
      unitAmount: s.price.amount,
      amount: s.price.amount,
      currency: s.price.currency,
    })),
    ...hold.ga.map((g) => ({
      kind: 'ga' as const,
      areaId: g.areaId,
      description: g.name,
      tierId: g.tierId,
      quantity: g.quantity,
      unitAmount: g.price.amount,
      amount: g.price.amount * g.quantity,
      currency: g.price.currency,
    })),
  ];
  const currencies = new Set(lines.map((l) => l.currency));
  if (currencies.size > 1) throw new MixedCurrenciesError([...currencies].join(', '));
  const currency = lines[0]?.currency ?? hold.totals[0]?.currency ?? 'EUR';
  const tickets = lines.reduce((n, l) => n + l.quantity, 0);
  const fees: Fee[] =
    settings.serviceFee && tickets > 0 ? [{ description: 'Service fee', amount: settings.serviceFee * tickets }] : [];
  const amount = lines.reduce((n, l) => n + l.amount, 0) + fees.reduce((n, f) => n + f.amount, 0);
  const tax: Tax | null =
    settings.taxRate && settings.taxRate > 0
      ? {
          description: 'Tax included',
          rate: settings.taxRate,
          amount: Math.round((amount * settings.taxRate) / (100 + settings.taxRate)),
        }
      : null;
  return { lines, fees, tax, amount, currency, tickets };
}
