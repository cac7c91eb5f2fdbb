import { expect } from 'chai';
import { loadConfig } from '@eventtickets/platform';
import { TEST_INTERNAL_TOKEN_SECRET } from '@eventtickets/platform/testing';
import { buildSeatMap, generateSection, rowLabel } from '../src/domain/seatmap.ts';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../src/domain/cursor.ts';
import { isValidTimeZone, localWallClock, parseEventTime } from '../src/domain/time.ts';
import { buildSchedule } from '../src/domain/schedule.ts';
import { isKnownCurrency } from '../src/domain/currency.ts';
import { configSchema } from '../src/config.ts';

describe('catalog domain (pure)', () => {
  it('generates a rectangular section: 10 × 20 is A-1 .. J-20 on the grid', () => {
    const s = generateSection({ name: 'Stalls', rows: 10, seatsPerRow: 20, origin: { x: 5, y: 7 }, spacing: 10 });
    const labels = s.rows.flatMap((r) => r.seats.map((seat) => seat.label));
    expect(labels).to.have.length(200);
    expect(labels[0]).to.equal('A-1');
    expect(labels[199]).to.equal('J-20');
    expect(s.rows[9]!.seats[19]).to.deep.equal({ label: 'J-20', number: 20, x: 195, y: 97 });
  });

  it('letters rows past Z spreadsheet-style, from any first row', () => {
    expect([0, 25, 26, 27, 51, 52].map((n) => rowLabel('A', n))).to.deep.equal(['A', 'Z', 'AA', 'AB', 'AZ', 'BA']);
    expect(rowLabel('K', 2)).to.equal('M');
  });

  it('gives every seat, section and area a distinct id, and an empty map is a problem', () => {
    const { seatMap, problems } = buildSeatMap({
      sections: [{ name: 'S', rows: 2, seatsPerRow: 2, origin: { x: 0, y: 0 }, spacing: 1 }],
      gaAreas: [{ name: 'Pit', capacity: 10 }],
    });
    expect(problems).to.deep.equal([]);
    const ids = [
      seatMap.sections[0]!.id,
      seatMap.gaAreas[0]!.id,
      ...seatMap.sections[0]!.rows.flatMap((r) => r.seats.map((s) => s.id)),
    ];
    expect(new Set(ids).size).to.equal(6);
    expect(buildSeatMap({}).problems.map((p) => p.code)).to.deep.equal(['empty-seat-map']);
  });

  it('refuses too many seats before expanding generated sections (a small body cannot exhaust memory)', () => {
    let ids = 0;
    const huge = Array.from({ length: 3 }, (_, i) => ({
      name: `S${i}`,
      rows: 200,
      seatsPerRow: 500,
      origin: { x: 0, y: 0 },
      spacing: 1,
      labelPrefix: `s${i}`,
    }));
    const { seatMap, problems } = buildSeatMap({ sections: huge }, 'seatMap', () => String(ids++));
    expect(problems.map((p) => `${p.path} ${p.code}`)).to.deep.equal(['seatMap.sections too-many-seats']);
    expect(problems[0]!.message).to.include('300000');
    expect(ids, 'seats created for a map that is refused').to.equal(0);
    expect(seatMap.sections).to.deep.equal([]);
    // Exactly at the limit is fine.
    expect(
      buildSeatMap({ sections: [{ name: 'Max', rows: 100, seatsPerRow: 200, origin: { x: 0, y: 0 }, spacing: 0.5 }] })
        .problems,
    ).to.deep.equal([]);
  });

  it('flags overlapping seats', () => {
    const { problems } = buildSeatMap({
      sections: [
        {
          name: 'S',
          rows: [
            {
              label: 'A',
              seats: [
                { label: 'A-1', x: 1, y: 1 },
                { label: 'A-2', x: 1, y: 1 },
              ],
            },
          ],
        },
      ],
    });
    expect(problems.map((p) => `${p.path} ${p.code}`)).to.deep.equal([
      'seatMap.sections[0].rows[0].seats[1] overlapping-seats',
    ]);
  });

  it('signs cursors: any change to data or signature, or another scope, is rejected', () => {
    const c = encodeCursor('secret', 'scope-a', { startsAt: '2030-01-01T00:00:00.000Z', id: 'abc' });
    expect(decodeCursor('secret', 'scope-a', c)).to.deep.equal({ startsAt: '2030-01-01T00:00:00.000Z', id: 'abc' });
    expect(() => decodeCursor('secret', 'scope-b', c)).to.throw(InvalidCursorError);
    expect(() => decodeCursor('other-secret', 'scope-a', c)).to.throw(InvalidCursorError);
    expect(() => decodeCursor('secret', 'scope-a', `x${c}`)).to.throw(InvalidCursorError);
    expect(() => decodeCursor('secret', 'scope-a', 'a.b.c')).to.throw(InvalidCursorError);
  });

  it('reads wall-clock times in the venue zone, across DST', () => {
    expect(parseEventTime('2030-01-15T20:00', 'Europe/Dublin')!.toISOString()).to.equal('2030-01-15T20:00:00.000Z');
    expect(parseEventTime('2030-07-15T20:00', 'Europe/Dublin')!.toISOString()).to.equal('2030-07-15T19:00:00.000Z');
    expect(parseEventTime('2030-07-15T20:00', 'America/New_York')!.toISOString()).to.equal('2030-07-16T00:00:00.000Z');
    expect(parseEventTime('2030-07-15T20:00:00+02:00', 'America/New_York')!.toISOString()).to.equal(
      '2030-07-15T18:00:00.000Z',
    );
    expect(parseEventTime('2030-02-30T20:00', 'Europe/Dublin')).to.equal(undefined);
    expect(localWallClock(new Date('2030-07-15T19:00:00Z'), 'Europe/Dublin')).to.equal('2030-07-15T20:00:00');
    expect(isValidTimeZone('Europe/Dublin')).to.equal(true);
    for (const zone of ['EST5EDT', 'GMT0', 'Etc/GMT+5', 'America/Argentina/Buenos_Aires', 'UTC'])
      expect(isValidTimeZone(zone), zone).to.equal(true);
    for (const zone of ['+01:00', '-05', 'Europe/Dublin/x', '']) expect(isValidTimeZone(zone), zone).to.equal(false);
    expect(isValidTimeZone('+01:00')).to.equal(false);
    expect(isValidTimeZone('Mars/Olympus')).to.equal(false);
  });

  it('defaults the sales window to now → start', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const { schedule } = buildSchedule({ startsAt: '2030-02-01T20:00Z', endsAt: '2030-02-01T23:00Z' }, 'UTC', now);
    expect(schedule!.salesStartAt.toISOString()).to.equal(now.toISOString());
    expect(schedule!.salesEndAt.toISOString()).to.equal('2030-02-01T20:00:00.000Z');
  });

  it('knows ISO 4217 codes', () => {
    expect(['EUR', 'USD', 'JPY', 'GBP'].every(isKnownCurrency)).to.equal(true);
    expect(['XYZ', 'eur', 'EURO'].some(isKnownCurrency)).to.equal(false);
  });

  it('requires Redis or the bus database', () => {
    expect(() =>
      loadConfig(configSchema, {
        DATABASE_URL: 'postgres://u@h/db',
        INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
      }),
    ).to.throw(/REDIS_URL: is required \(or BUS_DATABASE_URL/);
    expect(
      loadConfig(configSchema, {
        DATABASE_URL: 'postgres://u@h/db',
        BUS_DATABASE_URL: 'postgres://u@h/bus',
        INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
      }).REDIS_URL,
    ).to.deep.equal([]);
  });

  it('requires CURSOR_SECRET in production only', () => {
    const env = {
      DATABASE_URL: 'postgres://u@h/db',
      REDIS_URL: 'redis://h:6379',
      INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    };
    expect(loadConfig(configSchema, env)).to.include({ PORT: 8082, REDIS_PREFIX: 'et:', CACHE_TTL_SECONDS: 60 });
    expect(() => loadConfig(configSchema, { ...env, NODE_ENV: 'production' })).to.throw(/CURSOR_SECRET/);
    expect(
      loadConfig(configSchema, { ...env, NODE_ENV: 'production', CURSOR_SECRET: 'x'.repeat(32) }).CURSOR_SECRET,
    ).to.have.length(32);
  });
});
