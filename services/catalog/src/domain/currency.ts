// ISO 4217: the ICU currency list shipped with Node (Intl.supportedValuesOf) is the reference; a three-letter
// code that merely looks right (e.g. "XYZ") is rejected.
const codes = new Set(Intl.supportedValuesOf('currency'));

export function isKnownCurrency(code: string): boolean {
  return codes.has(code);
}
