// Rules on intents and refunds (pure).
import type { FieldError } from '@eventtickets/platform';
import type { IntentRequest } from './types.ts';

/** The total an intent must carry: lines and fees (tax is included in prices; tax lines are informational). */
export function expectedAmount(req: IntentRequest): number {
  return req.lines.reduce((s, l) => s + l.amount, 0) + (req.fees ?? []).reduce((s, f) => s + f.amount, 0);
}

/** Lines whose amount is not quantity × unit amount. */
export function lineErrors(req: IntentRequest): FieldError[] {
  return req.lines.flatMap((l, i) =>
    l.amount === l.quantity * l.unitAmount
      ? []
      : [{ field: `lines.${i}.amount`, message: 'must equal quantity × unitAmount' }],
  );
}

/** What may still be refunded of a capture. */
export function refundable(amount: number, refunded: number): number {
  return Math.max(0, amount - refunded);
}

/** A receipt number from a sequence value and the year it was issued: R-2026-000042. */
export function receiptNumber(year: number, seq: number): string {
  return `R-${year}-${String(seq).padStart(6, '0')}`;
}
