// The seat invariant checked from outside, after a race: from the 201 answers the buyers got and the
// availability snapshot the public API serves, nothing else.
import type { GrantedHold } from './loops.ts';

export interface InvariantReport {
  grantedHolds: number;
  grantedSeats: number;
  /** seats named by more than one granted hold */
  oversold: string[];
  /** granted seats the snapshot does not show as held */
  grantedNotHeld: string[];
  /** seats the snapshot shows held (or sold) that no granted hold owns */
  heldWithoutHold: string[];
  /** requests whose answer never arrived (gateway timeout, network error): each may have held its two seats */
  unknownOutcomes: number;
  /** no seat in two granted holds, every granted seat held, and at most two held seats per unknown outcome */
  ok: boolean;
}

export function checkInvariant(
  snapshotSeats: Record<string, string>,
  granted: GrantedHold[],
  unknownOutcomes = 0,
): InvariantReport {
  const owner = new Map<string, string>();
  const oversold = new Set<string>();
  for (const hold of granted)
    for (const seat of hold.seats) {
      if (owner.has(seat)) oversold.add(seat);
      else owner.set(seat, hold.holdId);
    }
  const grantedNotHeld = [...owner.keys()].filter((s) => snapshotSeats[s] !== 'held');
  const heldWithoutHold = Object.entries(snapshotSeats)
    .filter(([seat, status]) => (status === 'held' || status === 'sold') && !owner.has(seat))
    .map(([seat]) => seat);
  return {
    grantedHolds: granted.length,
    grantedSeats: owner.size,
    oversold: [...oversold],
    grantedNotHeld,
    heldWithoutHold,
    unknownOutcomes,
    ok: oversold.size === 0 && grantedNotHeld.length === 0 && heldWithoutHold.length <= 2 * unknownOutcomes,
  };
}
