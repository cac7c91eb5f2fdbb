// Text that clients send: the rules the contract middleware applies to every request, once for every service.
// - A NUL character is refused everywhere (path, query, body at any depth): Postgres text cannot hold it, and
//   the SQL layer would either fail (an array or JSON bind: a 500) or, for a plain string bind, store the two
//   characters `\0` instead (Sequelize's Postgres bind formatting rewrites NUL so).
// - Every string of a JSON body and of the query string is normalised to Unicode NFC before it is validated,
//   so canonically equal text (é as one code point or as e + combining accent) is stored, compared and
//   searched as one.
// - Names and titles refuse control characters through their contract's `pattern` (portable to every
//   client and to contract fuzzers); the message for such a failure says so (see controlCharacterMessage).

/** C0 controls, DEL and C1 controls. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/; // eslint-disable-line no-control-regex -- refusing them is the point

/** The same, except newline and tab (long text such as a description may hold them). */
export const CONTROL_CHARACTERS_BUT_NEWLINE_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/; // eslint-disable-line no-control-regex -- as above

export const NUL_MESSAGE = 'must not contain the NUL character';
export const CONTROL_MESSAGE = 'must not contain control characters';

// ASCII text is NFC already (no combining mark, nothing that decomposes): only other text goes through ICU, which
// costs ~3x the check for the short strings requests carry.
const NON_ASCII = /[^\u0000-\u007f]/; // eslint-disable-line no-control-regex -- the whole ASCII range

/** Unicode NFC, the one form text is stored in. */
export function normalizeText(value: string): string {
  return NON_ASCII.test(value) ? value.normalize('NFC') : value;
}

/** Whether nulFields(value) would name any field: the same walk (same depth bound), without building names. */
export function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (!value || typeof value !== 'object' || depth >= 64) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasNul(v, depth + 1)) return true;
    return false;
  }
  for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || hasNul(v, depth + 1)) return true;
  return false;
}

/** Field paths (`requestBody.seats.0`, `query.q`) of every string holding a NUL, below `prefix`. */
export function nulFields(value: unknown, prefix: string, out: string[] = [], depth = 0): string[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push(prefix);
  } else if (Array.isArray(value)) {
    if (depth < 64) value.forEach((v, i) => nulFields(v, `${prefix}.${i}`, out, depth + 1));
  } else if (value && typeof value === 'object') {
    if (depth < 64)
      for (const [k, v] of Object.entries(value)) {
        const field = `${prefix}.${k.replaceAll('\u0000', '\\u0000')}`;
        if (k.includes('\u0000')) out.push(field);
        nulFields(v, field, out, depth + 1);
      }
  }
  return out;
}

/** Normalises every string in a JSON value to NFC, in place (object keys too); returns the value. */
export function normalizeStrings<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return normalizeText(value) as T;
  if (depth >= 64 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normalizeStrings(value[i], depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const normalKey = normalizeText(key);
    const normalValue = normalizeStrings(record[key], depth + 1);
    if (normalKey === key && normalValue === record[key]) continue;
    if (normalKey !== key) delete record[key];
    // defineProperty, not assignment: a JSON key such as "__proto__" must stay a plain own property
    Object.defineProperty(record, normalKey, {
      value: normalValue,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return value;
}
