// Card checks of the tokenisation step (pure): Luhn, expiry, CVC, and what may be kept of a card (brand, last
// four, expiry). The number and the CVC never leave this step: nothing here returns them.
import type { FieldError } from '@eventtickets/platform';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'unknown';

export interface CardInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/** What is kept of a card: never the number or the CVC. */
export interface CardSummary {
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
}

/** The digits of a number written with optional single spaces or dashes between groups; undefined otherwise. */
export function cardDigits(number: string): string | undefined {
  const trimmed = number.trim();
  if (!/^\d(?:[ -]?\d)*$/.test(trimmed)) return undefined;
  return trimmed.replace(/[ -]/g, '');
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function brandOf(digits: string): CardBrand {
  if (/^4/.test(digits)) return 'visa';
  if (/^3[47]/.test(digits)) return 'amex';
  if (/^(5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/.test(digits)) return 'mastercard';
  if (/^(6011|65|64[4-9])/.test(digits)) return 'discover';
  return 'unknown';
}

/** The field errors of a card (empty when it may be tokenised). `now` decides expiry (end of the expiry month, UTC). */
export function cardErrors(card: CardInput, now: Date): FieldError[] {
  const errors: FieldError[] = [];
  const digits = cardDigits(card.number);
  if (!digits || digits.length < 12 || digits.length > 19)
    errors.push({ field: 'card.number', message: 'must be 12 to 19 digits (spaces or dashes between groups allowed)' });
  else if (!luhnValid(digits))
    errors.push({ field: 'card.number', message: 'is not a valid card number (Luhn check)' });
  const monthOk = Number.isInteger(card.expMonth) && card.expMonth >= 1 && card.expMonth <= 12;
  if (!monthOk) errors.push({ field: 'card.expMonth', message: 'must be a month from 1 to 12' });
  const yearOk = Number.isInteger(card.expYear) && card.expYear >= 2000 && card.expYear <= 2100;
  if (!yearOk) errors.push({ field: 'card.expYear', message: 'must be a four-digit year' });
  if (monthOk && yearOk && isExpired(card.expMonth, card.expYear, now))
    errors.push({ field: 'card.expYear', message: 'the card has expired' });
  const brand = digits ? brandOf(digits) : 'unknown';
  const cvcLength = brand === 'amex' ? 4 : 3;
  if (!new RegExp(`^\\d{${cvcLength}}$`).test(card.cvc))
    errors.push({ field: 'card.cvc', message: `must be ${cvcLength} digits` });
  return errors;
}

/** A card is valid through the last day of its expiry month. */
export function isExpired(expMonth: number, expYear: number, now: Date): boolean {
  const firstOfNextMonth = Date.UTC(expYear, expMonth, 1); // month index expMonth = the month after
  return now.getTime() >= firstOfNextMonth;
}

/** What may be stored of a valid card. */
export function summarise(card: CardInput): CardSummary {
  const digits = cardDigits(card.number)!;
  return { brand: brandOf(digits), last4: digits.slice(-4), expMonth: card.expMonth, expYear: card.expYear };
}
