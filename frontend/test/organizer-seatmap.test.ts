// The venue editor's seat-map model against catalog's own code: the preview must show exactly the seats the
// service creates from what the form sends, an existing venue must read back into the form without change,
// and the form must catch what catalog would refuse (label clashes, the drawing canvas, the seat limit).
import { expect } from 'chai';
import { buildSeatMap, rowLabel as catalogRowLabel } from '../../services/catalog/src/domain/seatmap.ts';
import { demoVenue } from '../../services/catalog/src/use-cases/demo-seed.ts';
import {
  draftFromSeatMap,
  draftProblems,
  expandDraft,
  newKey,
  nextFirstRow,
  rowLabel,
  toSeatMapInput,
  type Draft,
  type DraftSection,
} from '../src/components/organizer/seatmap.ts';

const section = (over: Partial<DraftSection>): DraftSection => ({
  key: newKey(),
  name: 'Stalls',
  rows: 3,
  seatsPerRow: 5,
  firstRow: 'A',
  labelPrefix: '',
  spacing: 24,
  ...over,
});

function seatsOf(map: ReturnType<typeof buildSeatMap>['seatMap']) {
  return map.sections.flatMap((s) =>
    s.rows.flatMap((r) => r.seats.map((seat) => ({ label: seat.label, x: seat.x, y: seat.y }))),
  );
}

describe('frontend: the organizer seat-map model (venue editor)', () => {
  it('letters rows as catalog does', () => {
    for (const [first, offset] of [
      ['A', 0],
      ['A', 25],
      ['A', 26],
      ['Z', 1],
      ['K', 30],
      ['AZ', 1],
    ] as const)
      expect(rowLabel(first, offset)).to.equal(catalogRowLabel(first, offset));
  });

  it('previews exactly the seats catalog creates from the request it sends', () => {
    const draft: Draft = {
      sections: [
        section({ name: 'Stalls', rows: 4, seatsPerRow: 9 }),
        section({ name: 'Circle', rows: 2, seatsPerRow: 12, firstRow: 'E', spacing: 30 }),
        section({ name: 'Box', rows: 1, seatsPerRow: 3, firstRow: 'A', labelPrefix: 'B-' }),
      ],
      gaAreas: [{ key: newKey(), name: 'Floor', capacity: 120 }],
    };
    expect(draftProblems(draft)).to.deep.equal([]);
    const built = buildSeatMap(toSeatMapInput(draft));
    expect(built.problems).to.deep.equal([]);
    const preview = expandDraft(draft);
    expect(seatsOf(built.seatMap)).to.deep.equal(preview.sections.flatMap((s) => s.seats));
    expect(preview.seatCount).to.equal(4 * 9 + 2 * 12 + 3);
    expect(preview.gaCapacity).to.equal(120);
    expect(built.seatMap.gaAreas.map((a) => [a.name, a.capacity])).to.deep.equal([['Floor', 120]]);
    expect(built.seatMap.sections[2]!.rows[0]!.seats.map((s) => s.label)).to.deep.equal(['B-A-1', 'B-A-2', 'B-A-3']);
  });

  it('reads an existing venue back into the form unchanged: plain grids as generator settings, others as they are', () => {
    const stored = buildSeatMap(demoVenue.seatMap).seatMap;
    const draft = draftFromSeatMap(stored);
    const stalls = draft.sections[0]!;
    expect(stalls).to.include({
      name: 'Stalls',
      rows: 10,
      seatsPerRow: 20,
      firstRow: 'A',
      labelPrefix: '',
      spacing: 24,
    });
    expect(stalls.explicit).to.equal(undefined);
    // Circle and Balcony use a different row spacing than seat spacing: not a square grid, so kept explicit
    expect(draft.sections.slice(1).map((s) => [s.name, s.explicit !== undefined])).to.deep.equal([
      ['Circle', true],
      ['Balcony', true],
    ]);
    expect(draftProblems(draft)).to.deep.equal([]);
    const again = buildSeatMap(toSeatMapInput(draft));
    expect(again.problems).to.deep.equal([]);
    expect(seatsOf(again.seatMap).map((s) => s.label)).to.deep.equal(seatsOf(stored).map((s) => s.label));
    expect(again.seatMap.gaAreas.map((a) => [a.name, a.capacity])).to.deep.equal([['Standing Floor', 200]]);
    // the form's request is stable: loading and sending without a change sends the same map (so no PATCH)
    expect(JSON.stringify(toSeatMapInput(draftFromSeatMap(again.seatMap)))).to.equal(
      JSON.stringify(toSeatMapInput(draft)),
    );
  });

  it('catches before sending what catalog would refuse', () => {
    // rows of one section growing into the letters of the next: the same labels twice
    const clash: Draft = { sections: [section({ rows: 11 }), section({ name: 'Circle', firstRow: 'K' })], gaAreas: [] };
    expect(draftProblems(clash).join(' ')).to.match(/Seat label K-1 appears twice/);
    expect(buildSeatMap(toSeatMapInput(clash)).problems.map((p) => p.code)).to.include('duplicate-label');

    const wide: Draft = { sections: [section({ seatsPerRow: 480 })], gaAreas: [] };
    expect(draftProblems(wide).join(' ')).to.match(/larger than the 10,000-unit drawing area/);
    expect(buildSeatMap(toSeatMapInput(wide)).problems.map((p) => p.code)).to.include('coordinates-out-of-range');

    expect(draftProblems({ sections: [], gaAreas: [] })).to.deep.equal(['Add at least one section or standing area.']);
    expect(
      draftProblems({ sections: [section({}), section({ name: ' stalls ', firstRow: 'D' })], gaAreas: [] }),
    ).to.deep.equal(['The name "stalls" is used twice.']);
    expect(draftProblems({ sections: [section({ firstRow: 'a1' })], gaAreas: [] })[0]).to.match(
      /one or two capital letters/,
    );
    expect(draftProblems({ sections: [], gaAreas: [{ key: newKey(), name: 'Floor', capacity: 0 }] })).to.deep.equal([
      'Floor: the capacity must be at least 1.',
    ]);
  });

  it('starts a new section on the row after the last one', () => {
    expect(nextFirstRow([])).to.equal('A');
    expect(nextFirstRow([section({ rows: 10 })])).to.equal('K');
    expect(nextFirstRow([section({ firstRow: 'Y', rows: 3 })])).to.equal('AB');
  });
});
