// Seat maps: sections → rows → seats (each seat labelled uniquely within the venue, with x/y for drawing)
// plus general-admission areas with a capacity. Input sections are either explicit or generated from
// rows × seats; buildSeatMap expands them, gives every seat, section and area a stable id, and lists
// every problem it finds.
import { randomUUID } from 'node:crypto';
import { ProblemList, type DomainProblem } from './problems.ts';

/** Drawing canvas bounds: coordinates outside it are almost certainly a typo (or a unit mix-up). */
export const COORDINATE_MAX = 10_000;
export const GA_CAPACITY_MAX = 200_000;
export const SEATS_PER_VENUE_MAX = 20_000;

export interface Point {
  x: number;
  y: number;
}

export interface SeatInput {
  label: string;
  number?: number;
  x: number;
  y: number;
}
export interface RowInput {
  label: string;
  seats: SeatInput[];
}
export interface ExplicitSectionInput {
  name: string;
  rows: RowInput[];
}
export interface GeneratedSectionInput {
  name: string;
  rows: number;
  seatsPerRow: number;
  origin: Point;
  spacing: number | Point;
  firstRow?: string;
  labelPrefix?: string;
}
export type SectionInput = ExplicitSectionInput | GeneratedSectionInput;
export interface GaAreaInput {
  name: string;
  capacity: number;
  x?: number;
  y?: number;
}
export interface SeatMapInput {
  sections?: SectionInput[];
  gaAreas?: GaAreaInput[];
}

export interface Seat {
  id: string;
  label: string;
  number?: number;
  x: number;
  y: number;
}
export interface Row {
  label: string;
  seats: Seat[];
}
export interface Section {
  id: string;
  name: string;
  rows: Row[];
}
export interface GaArea {
  id: string;
  name: string;
  capacity: number;
  x?: number;
  y?: number;
}
export interface SeatMap {
  sections: Section[];
  gaAreas: GaArea[];
}

/** Row letters after `first`: A, B, ... Z, AA, AB, ... (spreadsheet-style). */
export function rowLabel(first: string, offset: number): string {
  let n = 0;
  for (const ch of first) n = n * 26 + (ch.charCodeAt(0) - 64);
  n += offset;
  let label = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    label = String.fromCharCode(65 + rem) + label;
    n = Math.floor((n - 1) / 26);
  }
  return label;
}

/** The helper organizers use instead of typing every seat: rows × seatsPerRow on a regular grid. */
export function generateSection(input: GeneratedSectionInput): ExplicitSectionInput {
  const step = typeof input.spacing === 'number' ? { x: input.spacing, y: input.spacing } : input.spacing;
  const prefix = input.labelPrefix ?? '';
  const rows: RowInput[] = [];
  for (let r = 0; r < input.rows; r++) {
    const label = rowLabel(input.firstRow ?? 'A', r);
    const seats: SeatInput[] = [];
    for (let s = 1; s <= input.seatsPerRow; s++) {
      seats.push({
        label: `${prefix}${label}-${s}`,
        number: s,
        x: input.origin.x + (s - 1) * step.x,
        y: input.origin.y + r * step.y,
      });
    }
    rows.push({ label, seats });
  }
  return { name: input.name, rows };
}

export function isGenerated(section: SectionInput): section is GeneratedSectionInput {
  return typeof section.rows === 'number';
}

function saneCoordinate(v: number | undefined): boolean {
  return v === undefined || (Number.isFinite(v) && v >= 0 && v <= COORDINATE_MAX);
}

/** Seats the input asks for, without expanding generated sections. */
export function plannedSeatCount(sections: SectionInput[]): number {
  let n = 0;
  for (const s of sections)
    n += isGenerated(s) ? s.rows * s.seatsPerRow : s.rows.reduce((k, r) => k + r.seats.length, 0);
  return n;
}

export interface SeatMapResult {
  seatMap: SeatMap;
  problems: DomainProblem[];
}

/**
 * Expands generated sections, assigns ids and validates the whole map: unique section/area names, unique seat
 * labels and positions within the venue, non-empty rows, coordinates on the canvas, GA capacities positive.
 * `base` is the path prefix used in problems (e.g. "seatMap").
 */
export function buildSeatMap(input: SeatMapInput, base = 'seatMap', newId: () => string = randomUUID): SeatMapResult {
  const problems = new ProblemList();
  const sectionsIn = input.sections ?? [];
  const areasIn = input.gaAreas ?? [];
  if (sectionsIn.length === 0 && areasIn.length === 0)
    problems.add(base, 'empty-seat-map', 'A seat map needs at least one section or general-admission area');
  // Counted before anything is expanded: a few hundred bytes of generated sections could otherwise ask for
  // millions of seats and exhaust the process's memory.
  const requested = plannedSeatCount(sectionsIn);
  if (requested > SEATS_PER_VENUE_MAX) {
    problems.add(
      `${base}.sections`,
      'too-many-seats',
      `A venue may have at most ${SEATS_PER_VENUE_MAX} seats (got ${requested})`,
    );
    return { seatMap: { sections: [], gaAreas: [] }, problems: problems.items };
  }

  const areaNames = new Map<string, string>();
  const labels = new Map<string, string>();
  const positions = new Map<string, string>();
  const sections: Section[] = [];

  sectionsIn.forEach((raw, si) => {
    const sPath = `${base}.sections[${si}]`;
    const section = isGenerated(raw) ? generateSection(raw) : raw;
    const nameKey = section.name.trim().toLowerCase();
    if (!section.name.trim()) problems.add(`${sPath}.name`, 'blank-name', 'A section needs a name');
    else if (areaNames.has(nameKey))
      problems.add(
        `${sPath}.name`,
        'duplicate-name',
        `The name "${section.name}" is already used by ${areaNames.get(nameKey)}`,
      );
    else areaNames.set(nameKey, sPath);
    if (section.rows.length === 0)
      problems.add(`${sPath}.rows`, 'empty-section', `Section "${section.name}" has no rows`);
    const rowLabels = new Set<string>();
    const rows: Row[] = section.rows.map((row, ri) => {
      // Generated sections report problems at the section (that is what the organizer typed).
      const rPath = isGenerated(raw) ? sPath : `${sPath}.rows[${ri}]`;
      if (!isGenerated(raw)) {
        if (rowLabels.has(row.label))
          problems.add(
            `${rPath}.label`,
            'duplicate-row',
            `Row "${row.label}" appears twice in section "${section.name}"`,
          );
        if (row.seats.length === 0) problems.add(`${rPath}.seats`, 'empty-row', `Row "${row.label}" has no seats`);
      }
      rowLabels.add(row.label);
      const seats: Seat[] = row.seats.map((seat, ki) => {
        const path = isGenerated(raw) ? sPath : `${rPath}.seats[${ki}]`;
        const label = seat.label.trim();
        const labelPath = isGenerated(raw) ? sPath : `${path}.label`;
        if (!label) problems.add(labelPath, 'blank-label', 'A seat needs a label');
        else if (labels.has(label))
          problems.add(labelPath, 'duplicate-label', `Seat label "${label}" is already used by ${labels.get(label)}`);
        else labels.set(label, path === sPath ? `${sPath} (seat ${label})` : path);
        if (!saneCoordinate(seat.x) || !saneCoordinate(seat.y)) {
          problems.add(
            path,
            'coordinates-out-of-range',
            `Seat "${label}" is at (${seat.x}, ${seat.y}); coordinates must lie within 0..${COORDINATE_MAX}`,
          );
        } else {
          const at = `${seat.x},${seat.y}`;
          if (positions.has(at))
            problems.add(
              path,
              'overlapping-seats',
              `Seat "${label}" is at the same position as seat "${positions.get(at)}"`,
            );
          else positions.set(at, label);
        }
        return {
          id: newId(),
          label,
          ...(seat.number !== undefined ? { number: seat.number } : {}),
          x: seat.x,
          y: seat.y,
        };
      });
      return { label: row.label, seats };
    });
    sections.push({ id: newId(), name: section.name.trim(), rows });
  });

  // Expanded generated sections can report the same problem for hundreds of seats; keep one per path+code.
  const gaAreas: GaArea[] = areasIn.map((area, ai) => {
    const path = `${base}.gaAreas[${ai}]`;
    const nameKey = area.name.trim().toLowerCase();
    if (!area.name.trim()) problems.add(`${path}.name`, 'blank-name', 'A general-admission area needs a name');
    else if (areaNames.has(nameKey))
      problems.add(
        `${path}.name`,
        'duplicate-name',
        `The name "${area.name}" is already used by ${areaNames.get(nameKey)}`,
      );
    else areaNames.set(nameKey, path);
    if (!Number.isInteger(area.capacity) || area.capacity < 1 || area.capacity > GA_CAPACITY_MAX) {
      problems.add(
        `${path}.capacity`,
        'invalid-capacity',
        `Capacity must be a whole number between 1 and ${GA_CAPACITY_MAX}`,
      );
    }
    if (!saneCoordinate(area.x) || !saneCoordinate(area.y))
      problems.add(path, 'coordinates-out-of-range', `Area "${area.name}" must lie within 0..${COORDINATE_MAX}`);
    return {
      id: newId(),
      name: area.name.trim(),
      capacity: area.capacity,
      ...(area.x !== undefined ? { x: area.x } : {}),
      ...(area.y !== undefined ? { y: area.y } : {}),
    };
  });

  return { seatMap: { sections, gaAreas }, problems: dedupe(problems.items) };
}

function dedupe(list: DomainProblem[]): DomainProblem[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const key = `${p.path}|${p.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function seatMapTotals(map: SeatMap): { seatCount: number; gaCapacity: number } {
  let seatCount = 0;
  for (const s of map.sections) for (const r of s.rows) seatCount += r.seats.length;
  return { seatCount, gaCapacity: map.gaAreas.reduce((n, a) => n + a.capacity, 0) };
}
