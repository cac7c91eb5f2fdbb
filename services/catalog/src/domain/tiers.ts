// Price tiers map onto a venue's seat map: a tier prices whole sections, single seats (which override their
// section's tier) and GA areas. Validation lists every unknown reference and every double assignment;
// assignTiers resolves which tier each seat and area belongs to.
import { randomUUID } from 'node:crypto';
import { isKnownCurrency } from './currency.ts';
import { ProblemList, type DomainProblem } from './problems.ts';
import type { SeatMap } from './seatmap.ts';

export interface TierInput {
  name: string;
  amount: number;
  currency: string;
  sections?: string[];
  seats?: string[];
  gaAreas?: string[];
}
export interface Tier {
  id: string;
  name: string;
  amount: number;
  currency: string;
  sections: string[];
  seats: string[];
  gaAreas: string[];
}

export interface TierAssignment {
  /** seat id → tier id (null when no tier covers it) */
  seatTier: Map<string, string | null>;
  /** GA area id → tier id (null when no tier covers it) */
  areaTier: Map<string, string | null>;
}

/**
 * Checks tiers against the seat map and gives each tier an id (keeping ids of tiers whose name is
 * unchanged, so an edit of a draft does not churn them). All problems are returned, none thrown.
 */
export function buildTiers(
  input: TierInput[],
  map: SeatMap,
  previous: Tier[] = [],
  base = 'tiers',
): { tiers: Tier[]; problems: DomainProblem[] } {
  const problems = new ProblemList();
  const sectionNames = new Set(map.sections.map((s) => s.name));
  const areaNames = new Set(map.gaAreas.map((a) => a.name));
  const seatLabels = new Set(map.sections.flatMap((s) => s.rows.flatMap((r) => r.seats.map((seat) => seat.label))));
  const names = new Set<string>();
  const owner = {
    sections: new Map<string, string>(),
    seats: new Map<string, string>(),
    gaAreas: new Map<string, string>(),
  };
  const currencies = new Set<string>();

  input.forEach((tier, i) => {
    const path = `${base}[${i}]`;
    const name = tier.name.trim();
    if (!name) problems.add(`${path}.name`, 'blank-name', 'A tier needs a name');
    else if (names.has(name.toLowerCase()))
      problems.add(`${path}.name`, 'duplicate-tier', `Tier "${name}" is defined twice`);
    names.add(name.toLowerCase());
    if (!Number.isInteger(tier.amount) || tier.amount < 0)
      problems.add(`${path}.amount`, 'invalid-amount', 'The amount is a non-negative whole number of minor units');
    if (!isKnownCurrency(tier.currency))
      problems.add(`${path}.currency`, 'unknown-currency', `"${tier.currency}" is not an ISO 4217 currency code`);
    currencies.add(tier.currency);
    const check = (kind: 'sections' | 'seats' | 'gaAreas', known: Set<string>, code: string, noun: string) => {
      (tier[kind] ?? []).forEach((ref, j) => {
        if (!known.has(ref)) problems.add(`${path}.${kind}[${j}]`, code, `The venue has no ${noun} "${ref}"`);
        else if (owner[kind].has(ref))
          problems.add(
            `${path}.${kind}[${j}]`,
            'assigned-twice',
            `${noun[0]!.toUpperCase()}${noun.slice(1)} "${ref}" is already priced by tier "${owner[kind].get(ref)}"`,
          );
        else owner[kind].set(ref, name);
      });
    };
    check('sections', sectionNames, 'unknown-section', 'section');
    check('seats', seatLabels, 'unknown-seat', 'seat');
    check('gaAreas', areaNames, 'unknown-ga-area', 'general-admission area');
  });
  if (currencies.size > 1)
    problems.add(
      base,
      'mixed-currencies',
      `All tiers of an event use one currency (got ${[...currencies].sort().join(', ')})`,
    );

  const previousIds = new Map(previous.map((t) => [t.name, t.id]));
  const tiers = input.map((t) => ({
    id: previousIds.get(t.name.trim()) ?? randomUUID(),
    name: t.name.trim(),
    amount: t.amount,
    currency: t.currency,
    sections: t.sections ?? [],
    seats: t.seats ?? [],
    gaAreas: t.gaAreas ?? [],
  }));
  return { tiers, problems: problems.items };
}

/** Resolves the tier of every seat (seat-level mapping wins over its section's) and every GA area. */
export function assignTiers(map: SeatMap, tiers: Tier[]): TierAssignment {
  const bySection = new Map<string, string>();
  const bySeat = new Map<string, string>();
  const byArea = new Map<string, string>();
  for (const t of tiers) {
    for (const s of t.sections) bySection.set(s, t.id);
    for (const s of t.seats) bySeat.set(s, t.id);
    for (const a of t.gaAreas) byArea.set(a, t.id);
  }
  const seatTier = new Map<string, string | null>();
  for (const section of map.sections) {
    for (const row of section.rows)
      for (const seat of row.seats)
        seatTier.set(seat.id, bySeat.get(seat.label) ?? bySection.get(section.name) ?? null);
  }
  const areaTier = new Map<string, string | null>();
  for (const area of map.gaAreas) areaTier.set(area.id, byArea.get(area.name) ?? null);
  return { seatTier, areaTier };
}

/** The seat map as buyers see it: every seat and area carries its tier id. */
export function pricedSeatMap(map: SeatMap, tiers: Tier[]): SeatMap {
  const { seatTier, areaTier } = assignTiers(map, tiers);
  return {
    sections: map.sections.map((s) => ({
      ...s,
      rows: s.rows.map((r) => ({
        ...r,
        seats: r.seats.map((seat) => ({ ...seat, tierId: seatTier.get(seat.id) ?? null })),
      })),
    })),
    gaAreas: map.gaAreas.map((a) => ({ ...a, tierId: areaTier.get(a.id) ?? null })),
  };
}

/** Labels/names nothing prices; a published event must have none (inventory could not sell them). */
export function unpricedPlaces(map: SeatMap, tiers: Tier[]): { seats: string[]; gaAreas: string[] } {
  const { seatTier, areaTier } = assignTiers(map, tiers);
  const seats: string[] = [];
  for (const s of map.sections)
    for (const r of s.rows) for (const seat of r.seats) if (!seatTier.get(seat.id)) seats.push(seat.label);
  return { seats, gaAreas: map.gaAreas.filter((a) => !areaTier.get(a.id)).map((a) => a.name) };
}

export function lowestPrice(tiers: Tier[]): { amount: number; currency: string } | null {
  if (tiers.length === 0) return null;
  const min = tiers.reduce((a, b) => (b.amount < a.amount ? b : a));
  return { amount: min.amount, currency: min.currency };
}
