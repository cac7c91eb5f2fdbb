// The venue editor's model: sections drawn by the rows × seats generator (or kept as they are when a venue's
// existing map is not a plain grid) and general-admission areas, laid out automatically. expandDraft mirrors
// catalog's generateSection (services/catalog/src/domain/seatmap.ts) so the preview shows exactly the seats
// the service will create; toSeatMapInput is what POST/PATCH /api/venues sends.
//
// No imports: the types below are the contract's shapes (catalog SeatMapInput, SeatMap) written structurally,
// so the root typecheck and the unit test (frontend/test/organizer-seatmap.test.ts) read this file as it is.

interface Point {
  x: number;
  y: number;
}
interface SeatInput {
  label: string;
  number?: number;
  x: number;
  y: number;
}
interface ExplicitSectionInput {
  name: string;
  rows: Array<{ label: string; seats: SeatInput[] }>;
}
interface GeneratedSectionInput {
  name: string;
  rows: number;
  seatsPerRow: number;
  origin: Point;
  spacing: number | Point;
  firstRow: string;
  labelPrefix: string;
}
/** catalog SeatMapInput (the request body's seatMap). */
export interface SeatMapInput {
  sections: Array<ExplicitSectionInput | GeneratedSectionInput>;
  gaAreas: Array<{ name: string; capacity: number; x?: number; y?: number }>;
}
/** catalog SeatMap (a stored venue's or event's map; only what the editor reads). */
export interface SeatMap {
  sections: Array<{ name: string; rows: Array<{ label: string; seats: SeatInput[] }> }>;
  gaAreas: Array<{ name: string; capacity: number; x?: number; y?: number }>;
}

export interface DraftSection {
  key: number;
  name: string;
  rows: number;
  seatsPerRow: number;
  firstRow: string;
  labelPrefix: string;
  /** Distance between seat centres, in map units (about a seat's width). */
  spacing: number;
  /** A section of an existing map that is not a plain grid: sent back unchanged. */
  explicit?: ExplicitSectionInput;
}

export interface DraftArea {
  key: number;
  name: string;
  capacity: number;
}

export interface Draft {
  sections: DraftSection[];
  gaAreas: DraftArea[];
}

export interface PreviewSeat {
  label: string;
  x: number;
  y: number;
}

export interface PreviewSection {
  name: string;
  seats: PreviewSeat[];
  /** Where the section's name is drawn (above its first row, centred). */
  labelAt: { x: number; y: number };
  /** Seat circle radius in map units. */
  radius: number;
}

export interface PreviewArea {
  name: string;
  capacity: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Preview {
  sections: PreviewSection[];
  areas: PreviewArea[];
  seatCount: number;
  gaCapacity: number;
  width: number;
  height: number;
}

export const MAX_ROWS = 200;
export const MAX_SEATS_PER_ROW = 500;
export const MAX_SEATS = 20_000;
/** Catalog's drawing canvas: every coordinate lies within 0..COORDINATE_MAX. */
export const COORDINATE_MAX = 10_000;
const MARGIN = 40;
const SECTION_GAP = 48;
const AREA_WIDTH = 200;
const AREA_HEIGHT = 120;

/** One colour per section, area or tier (graphics contrast >= 3:1 on white). */
export const PALETTE = ['#1967d2', '#c5221f', '#137333', '#8430ce', '#b06000', '#007b83', '#b3126f', '#5f6368'];
export const UNPRICED = '#9aa0a6';

let nextKey = 1;
export const newKey = (): number => nextKey++;

/** Row letters after `first`: A, B, ... Z, AA, AB, ... (as catalog letters them). */
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

/** The first row letter after a section's last row (so a new section's seat labels never collide). */
export function nextFirstRow(sections: DraftSection[]): string {
  const last = sections.filter((s) => !s.explicit).at(-1);
  if (!last || !/^[A-Z]{1,2}$/.test(last.firstRow)) return 'A';
  const next = rowLabel(last.firstRow, Math.max(1, Math.floor(last.rows) || 1));
  return next.length <= 2 ? next : 'A';
}

function sane(n: number, min: number, max: number): number {
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.floor(n))) : min;
}

function sectionSize(s: DraftSection): { width: number; height: number } {
  if (s.explicit) {
    const seats = s.explicit.rows.flatMap((r) => r.seats);
    const xs = seats.map((p) => p.x);
    const ys = seats.map((p) => p.y);
    return seats.length
      ? { width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) }
      : { width: 0, height: 0 };
  }
  const spacing = sane(s.spacing, 8, 200);
  return {
    width: (sane(s.seatsPerRow, 1, MAX_SEATS_PER_ROW) - 1) * spacing,
    height: (sane(s.rows, 1, MAX_ROWS) - 1) * spacing,
  };
}

/** Sections stacked top to bottom, each centred; GA areas in a column to their right. */
export function expandDraft(draft: Draft): Preview {
  const sizes = draft.sections.map(sectionSize);
  const widest = Math.max(0, ...sizes.map((s) => s.width));
  const sections: PreviewSection[] = [];
  let y = MARGIN + 24; // room for the first section's name
  let seatCount = 0;
  draft.sections.forEach((s, i) => {
    const size = sizes[i]!;
    const left = MARGIN + (widest - size.width) / 2;
    const seats: PreviewSeat[] = [];
    if (s.explicit) {
      const all = s.explicit.rows.flatMap((r) => r.seats);
      const minX = Math.min(...all.map((p) => p.x));
      const minY = Math.min(...all.map((p) => p.y));
      for (const p of all) seats.push({ label: p.label, x: left + p.x - minX, y: y + p.y - minY });
    } else {
      const rows = sane(s.rows, 1, MAX_ROWS);
      const perRow = sane(s.seatsPerRow, 1, MAX_SEATS_PER_ROW);
      const spacing = sane(s.spacing, 8, 200);
      const first = /^[A-Z]{1,2}$/.test(s.firstRow) ? s.firstRow : 'A';
      // The preview draws at most MAX_SEATS seats (the service refuses more anyway).
      for (let r = 0; r < rows && seatCount + seats.length < MAX_SEATS; r++) {
        const label = rowLabel(first, r);
        for (let k = 1; k <= perRow; k++)
          seats.push({ label: `${s.labelPrefix}${label}-${k}`, x: left + (k - 1) * spacing, y: y + r * spacing });
      }
    }
    sections.push({
      name: s.name,
      seats,
      labelAt: { x: left + size.width / 2, y: y - 18 },
      radius: s.explicit ? 9 : Math.min(9, sane(s.spacing, 8, 200) * 0.4),
    });
    seatCount += s.explicit ? seats.length : sane(s.rows, 1, MAX_ROWS) * sane(s.seatsPerRow, 1, MAX_SEATS_PER_ROW);
    y += size.height + SECTION_GAP;
  });
  const areaX = draft.sections.length ? MARGIN + widest + 80 : MARGIN;
  const areas: PreviewArea[] = draft.gaAreas.map((a, i) => ({
    name: a.name,
    capacity: a.capacity,
    x: areaX,
    y: MARGIN + i * (AREA_HEIGHT + 24),
    width: AREA_WIDTH,
    height: AREA_HEIGHT,
  }));
  const seatsBottom = draft.sections.length ? y - SECTION_GAP : 0;
  const areasBottom = areas.length ? areas.at(-1)!.y + AREA_HEIGHT : 0;
  return {
    sections,
    areas,
    seatCount,
    gaCapacity: draft.gaAreas.reduce((n, a) => n + (Number.isFinite(a.capacity) ? a.capacity : 0), 0),
    width: (areas.length ? areaX + AREA_WIDTH : MARGIN + widest) + MARGIN,
    height: Math.max(seatsBottom, areasBottom) + MARGIN,
  };
}

/** The request body's seatMap: generated sections at the positions the preview shows. */
export function toSeatMapInput(draft: Draft): SeatMapInput {
  const preview = expandDraft(draft);
  return {
    sections: draft.sections.map((s, i) => {
      if (s.explicit) {
        const seats = preview.sections[i]!.seats;
        let k = 0;
        return {
          name: s.name.trim(),
          rows: s.explicit.rows.map((r) => ({
            label: r.label,
            seats: r.seats.map((seat) => {
              const at = seats[k++]!;
              return {
                label: seat.label,
                ...(seat.number !== undefined ? { number: seat.number } : {}),
                x: at.x,
                y: at.y,
              };
            }),
          })),
        };
      }
      const first = preview.sections[i]!.seats[0];
      return {
        name: s.name.trim(),
        rows: Math.floor(s.rows),
        seatsPerRow: Math.floor(s.seatsPerRow),
        origin: { x: first?.x ?? MARGIN, y: first?.y ?? MARGIN },
        spacing: Math.floor(s.spacing),
        firstRow: s.firstRow,
        labelPrefix: s.labelPrefix,
      };
    }),
    gaAreas: draft.gaAreas.map((a, i) => ({
      name: a.name.trim(),
      capacity: Math.floor(a.capacity),
      x: preview.areas[i]!.x + AREA_WIDTH / 2,
      y: preview.areas[i]!.y + AREA_HEIGHT / 2,
    })),
  };
}

/** An existing venue's map as a draft: plain grids become generator sections again, others stay explicit. */
export function draftFromSeatMap(map: SeatMap): Draft {
  return {
    sections: map.sections.map((section) => {
      const grid = asGrid(section);
      const base = { key: newKey(), name: section.name };
      if (grid) return { ...base, ...grid };
      return {
        ...base,
        rows: section.rows.length,
        seatsPerRow: Math.max(0, ...section.rows.map((r) => r.seats.length)),
        firstRow: section.rows[0]?.label ?? 'A',
        labelPrefix: '',
        spacing: 24,
        explicit: {
          name: section.name,
          rows: section.rows.map((r) => ({
            label: r.label,
            seats: r.seats.map((s) => ({
              label: s.label,
              ...(s.number !== undefined ? { number: s.number } : {}),
              x: s.x,
              y: s.y,
            })),
          })),
        },
      };
    }),
    gaAreas: map.gaAreas.map((a) => ({ key: newKey(), name: a.name, capacity: a.capacity })),
  };
}

function asGrid(section: SeatMap['sections'][number]): Omit<DraftSection, 'key' | 'name'> | undefined {
  const rows = section.rows;
  const first = rows[0];
  if (!first || first.seats.length === 0 || !/^[A-Z]{1,2}$/.test(first.label)) return undefined;
  const perRow = first.seats.length;
  const spacing =
    perRow > 1
      ? first.seats[1]!.x - first.seats[0]!.x
      : rows.length > 1
        ? rows[1]!.seats[0]!.y - first.seats[0]!.y
        : 24;
  const dy = rows.length > 1 ? rows[1]!.seats[0]!.y - first.seats[0]!.y : spacing;
  const prefix = first.seats[0]!.label.slice(0, first.seats[0]!.label.length - `${first.label}-1`.length);
  if (spacing <= 0 || dy !== spacing) return undefined;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.label !== rowLabel(first.label, r) || row.seats.length !== perRow) return undefined;
    for (let k = 0; k < perRow; k++) {
      const seat = row.seats[k]!;
      if (seat.label !== `${prefix}${row.label}-${k + 1}`) return undefined;
      if (seat.x !== first.seats[0]!.x + k * spacing || seat.y !== first.seats[0]!.y + r * spacing) return undefined;
    }
  }
  return { rows: rows.length, seatsPerRow: perRow, firstRow: first.label, labelPrefix: prefix, spacing };
}

/** Problems the form can see before sending (the service checks again and says more). */
export function draftProblems(draft: Draft): string[] {
  const out: string[] = [];
  if (draft.sections.length === 0 && draft.gaAreas.length === 0) out.push('Add at least one section or standing area.');
  const names = new Set<string>();
  for (const s of [...draft.sections, ...draft.gaAreas]) {
    const n = s.name.trim().toLowerCase();
    if (!n) out.push('Every section and area needs a name.');
    else if (names.has(n)) out.push(`The name "${s.name.trim()}" is used twice.`);
    names.add(n);
  }
  for (const s of draft.sections) {
    if (s.explicit) continue;
    if (!(s.rows >= 1 && s.rows <= MAX_ROWS)) out.push(`${s.name || 'A section'}: rows must be 1 to ${MAX_ROWS}.`);
    if (!(s.seatsPerRow >= 1 && s.seatsPerRow <= MAX_SEATS_PER_ROW))
      out.push(`${s.name || 'A section'}: seats per row must be 1 to ${MAX_SEATS_PER_ROW}.`);
    if (!/^[A-Z]{1,2}$/.test(s.firstRow))
      out.push(`${s.name || 'A section'}: the first row is one or two capital letters.`);
  }
  for (const a of draft.gaAreas)
    if (!(a.capacity >= 1)) out.push(`${a.name || 'A standing area'}: the capacity must be at least 1.`);
  const labels = new Set<string>();
  for (const s of expandDraft(draft).sections)
    for (const seat of s.seats) {
      if (labels.has(seat.label)) {
        out.push(`Seat label ${seat.label} appears twice: give sections different first rows or a label prefix.`);
        return out;
      }
      labels.add(seat.label);
    }
  const preview = expandDraft(draft);
  if (preview.seatCount > MAX_SEATS) out.push(`A venue may have at most ${MAX_SEATS} seats.`);
  else if (preview.width > COORDINATE_MAX || preview.height > COORDINATE_MAX)
    out.push(
      `The map is larger than the ${COORDINATE_MAX.toLocaleString('en')}-unit drawing area: use fewer seats per row or rows, or a smaller spacing.`,
    );
  return [...new Set(out)];
}

/** An event's (or venue's) stored map for the preview: seats where the service put them. */
export function previewFromSeatMap(map: SeatMap): Preview {
  const seats = map.sections.flatMap((s) => s.rows.flatMap((r) => r.seats));
  const xs = [...seats.map((s) => s.x), ...map.gaAreas.map((a) => a.x ?? 0)];
  const ys = [...seats.map((s) => s.y), ...map.gaAreas.map((a) => a.y ?? 0)];
  const minX = Math.min(0, ...xs);
  const minY = Math.min(0, ...ys);
  const shift = (x: number, y: number) => ({ x: x - minX + MARGIN, y: y - minY + MARGIN + 24 });
  const sections: PreviewSection[] = map.sections.map((s) => {
    const placed = s.rows.flatMap((r) => r.seats).map((seat) => ({ label: seat.label, ...shift(seat.x, seat.y) }));
    const left = Math.min(...placed.map((p) => p.x));
    const right = Math.max(...placed.map((p) => p.x));
    const top = Math.min(...placed.map((p) => p.y));
    const first = s.rows[0]?.seats;
    const step = first && first.length > 1 ? Math.abs(first[1]!.x - first[0]!.x) : 24;
    return {
      name: s.name,
      seats: placed,
      labelAt: { x: (left + right) / 2, y: top - 18 },
      radius: Math.max(2, Math.min(9, step * 0.4)),
    };
  });
  const areas: PreviewArea[] = map.gaAreas.map((a, i) => {
    const centre = a.x !== undefined && a.y !== undefined ? shift(a.x, a.y) : shift(0, i * (AREA_HEIGHT + 24));
    return {
      name: a.name,
      capacity: a.capacity,
      x: centre.x - AREA_WIDTH / 2,
      y: centre.y - AREA_HEIGHT / 2,
      width: AREA_WIDTH,
      height: AREA_HEIGHT,
    };
  });
  const right = Math.max(0, ...sections.flatMap((s) => s.seats.map((p) => p.x)), ...areas.map((a) => a.x + a.width));
  const bottom = Math.max(0, ...sections.flatMap((s) => s.seats.map((p) => p.y)), ...areas.map((a) => a.y + a.height));
  // areas drawn around their centre may reach left of the margin: shift everything right when they do
  const dx = Math.max(0, MARGIN - Math.min(MARGIN, ...areas.map((a) => a.x)));
  const dy = Math.max(0, MARGIN - Math.min(MARGIN, ...areas.map((a) => a.y)));
  if (dx || dy) {
    for (const s of sections) {
      for (const p of s.seats) Object.assign(p, { x: p.x + dx, y: p.y + dy });
      s.labelAt = { x: s.labelAt.x + dx, y: s.labelAt.y + dy };
    }
    for (const a of areas) Object.assign(a, { x: a.x + dx, y: a.y + dy });
  }
  return {
    sections,
    areas,
    seatCount: seats.length,
    gaCapacity: map.gaAreas.reduce((n, a) => n + a.capacity, 0),
    width: right + dx + MARGIN,
    height: bottom + dy + MARGIN,
  };
}
