// E-mail normalisation: one account per mailbox, whatever case or surrounding spaces the user typed.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Trims, applies Unicode NFC and lower-cases the whole address (providers treat the local part case-insensitively). */
export function normaliseEmail(raw: string): string {
  return raw.trim().normalize('NFC').toLowerCase();
}

export function isPlausibleEmail(normalised: string): boolean {
  return normalised.length <= 254 && EMAIL.test(normalised);
}
