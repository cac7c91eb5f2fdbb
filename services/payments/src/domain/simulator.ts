// The PSP simulator's rules (pure): which outcome a test card gets, decided once at tokenisation and kept as
// the payment method's provider token (the "outcome class"), and what a charge with it does.

/** Outcome classes: `succeed`, `async_succeed` (pending, then a webhook), `decline:<reason>`. */
export type OutcomeClass = 'succeed' | 'async_succeed' | `decline:${DeclineReason}`;
export type DeclineReason = 'card_declined' | 'insufficient_funds' | 'expired_card';

/** The simulator's test cards (shared/DESIGN.md); any other valid card succeeds. */
export const TEST_CARDS: Record<string, OutcomeClass> = {
  '4242424242424242': 'succeed',
  '4000000000000002': 'decline:card_declined',
  '4000000000009995': 'decline:insufficient_funds',
  '4000000000000069': 'decline:expired_card',
  '4000000000000077': 'async_succeed',
};

export function outcomeClassFor(digits: string): OutcomeClass {
  return TEST_CARDS[digits] ?? 'succeed';
}

export function isOutcomeClass(value: string): value is OutcomeClass {
  return (
    value === 'succeed' ||
    value === 'async_succeed' ||
    value === 'decline:card_declined' ||
    value === 'decline:insufficient_funds' ||
    value === 'decline:expired_card'
  );
}

export type SimulatedCharge =
  { status: 'succeeded' } | { status: 'failed'; reason: DeclineReason } | { status: 'pending'; then: 'succeeded' };

export function simulateCharge(outcome: OutcomeClass): SimulatedCharge {
  if (outcome === 'succeed') return { status: 'succeeded' };
  if (outcome === 'async_succeed') return { status: 'pending', then: 'succeeded' };
  return { status: 'failed', reason: outcome.slice('decline:'.length) as DeclineReason };
}
