// E-mail normalisation: one account per mailbox, whatever case or surrounding spaces the user typed.
// No spaces or control characters anywhere (a NUL would otherwise be stored as the two characters \0).
const EMAIL =
  // eslint-disable-next-line no-control-regex -- matching control characters (to refuse them) is the point
  /^[^\s@\u0000-\u001f\u007f-\u009f]+@[^\s@\u0000-\u001f\u007f-\u009f]+\.[^\s@\u0000-\u001f\u007f-\u009f]+$/u;

/** Trims, applies Unicode NFC and lower-cases the whole address (providers treat the local part case-insensitively). */
export function normaliseEmail(raw: string): string {
  return raw.trim().normalize('NFC').toLowerCase();
}

export function isPlausibleEmail(normalised: string): boolean {
  return normalised.length <= 254 && EMAIL.test(normalised);
}
