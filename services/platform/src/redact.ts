// Deep redaction for log records. pino's path-based `redact` only reaches the depths listed in advance, so a
// password three objects down, a `refresh_token` in snake case or a card number under an unexpected key would
// be written as-is. This walks every plain object and array of a record (copy-on-write: the caller's object,
// often a live request body, is never changed) and censors by key name and by card-number-shaped values.

export const CENSOR = '[redacted]';

/** Key names (lower-cased, without `-` and `_`) whose values are secrets wherever they appear. */
const SENSITIVE_KEY =
  /password|passwd|passphrase|secret|token$|tokens$|authorization|cookie|apikey|privatekey|credential|cvc$|cvv$|cardnumber|^pan$/;

export function isSensitiveKey(key: string, parentKey?: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, '');
  if (SENSITIVE_KEY.test(k)) return true;
  // { card: { number } }: a number is only a card number under a card
  return k === 'number' && parentKey !== undefined && /card$/.test(parentKey.toLowerCase());
}

// 13-19 digits, optionally grouped by single spaces or dashes, starting like a real card (issuer digits 2-6):
// millisecond timestamps (starting with 1) and short numeric ids do not match.
const CARD_LIKE = /\b[2-6](?:[ -]?\d){12,18}\b/g;

function luhnValid(digits: string): boolean {
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

/** Replaces card numbers (Luhn-valid) inside a string; other digit runs stay. */
export function maskCardNumbers(text: string): string {
  if (text.length < 13) return text;
  return text.replace(CARD_LIKE, (match) => (luhnValid(match.replace(/[ -]/g, '')) ? CENSOR : match));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const MAX_DEPTH = 10;

/** Returns value itself when nothing needed censoring, else a copy with the secrets replaced. */
export function redactDeep<T>(value: T, parentKey?: string, depth = 0, seen = new WeakSet<object>()): T {
  if (typeof value === 'string') return maskCardNumbers(value) as T;
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object' || seen.has(value)) return value;
  if (Array.isArray(value)) {
    seen.add(value);
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = redactDeep(item, parentKey, depth + 1, seen);
      if (next !== item) (copy ??= [...value])[i] = next;
    });
    return (copy ?? value) as T;
  }
  // Errors, Dates, Buffers... are left to pino's serializers and path redaction.
  if (!isPlainObject(value)) return value;
  seen.add(value);
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const next = isSensitiveKey(key, parentKey)
      ? item === undefined || item === null
        ? item
        : CENSOR
      : redactDeep(item, key, depth + 1, seen);
    if (next !== item) (copy ??= { ...value })[key] = next;
  }
  return (copy ?? value) as T;
}
