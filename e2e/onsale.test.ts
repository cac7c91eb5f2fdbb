// The on-sale bench in small (issue 14): the whole stack through the real runner, an organizer's event created
// through the gateway, buyers signed in, a few hundred overlapping two-seat holds raced through the gateway by
// the bench's own closed loop, then the seat invariant checked from outside exactly as `npm run bench:onsale`
// does (no seat in two granted holds, the snapshot agrees with the granted holds, nothing held that no hold
// owns). No timing is asserted: the figures are the bench's.
import { expect } from 'chai';
import { requireBinary } from '@eventtickets/platform/testing';
import { createSeatedEvent, login, seatPairs, signInBuyers, waitForSnapshot } from '../load/onsale/api.ts';
import { checkInvariant } from '../load/onsale/invariant.ts';
import { parseResponse } from '../load/onsale/hold-client.ts';
import { closedLoop, grantPhase, holdPool, newTally } from '../load/onsale/loops.ts';
import { startStack, type BenchStack } from '../load/onsale/stack.ts';

describe('on-sale in small: a few hundred holds through the gateway keep the seat invariant', function () {
  this.timeout(300_000);
  let stack: BenchStack | undefined;

  before(async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    stack = await startStack({ demoPassword: 'onsale-test-demo-password' });
  });
  after(async () => {
    await stack?.stop();
  });

  it('300 overlapping two-seat hold requests by 12 buyers over 120 seats: no seat in two holds, snapshot = granted holds', async () => {
    const gw = stack!.gatewayUrl;
    const organizer = await login(gw, stack!.organizer.email, stack!.organizer.password);
    const eventId = await createSeatedEvent(gw, organizer, { title: 'On-sale in small', rows: 4, seatsPerRow: 30 });
    const snapshot = await waitForSnapshot(gw, eventId);
    expect(Object.keys(snapshot.seats)).to.have.length(120);
    const buyers = await signInBuyers(gw, { count: 12, runId: `t${Date.now().toString(36)}` });
    const pool = holdPool(gw, buyers.length);
    const tally = await closedLoop({
      pool,
      rawGatewayUrl: gw, // each buyer on its own hand-written connection, as bench:onsale's closed loop
      buyers,
      eventId,
      pairs: seatPairs(snapshot),
      durationS: 240,
      maxAttempts: 300,
    }).finally(() => pool.close());
    expect(tally.attempts).to.equal(300);
    expect(Object.keys(tally.byStatus).sort(), JSON.stringify(tally.samples)).to.deep.equal(
      Object.keys(tally.byStatus).filter((s) => s === '201' || s === '409'),
    );
    expect(tally.byStatus['201']).to.be.greaterThan(0);
    expect(tally.byStatus['409'], 'overlapping pairs over 120 seats must collide').to.be.greaterThan(0);
    const report = checkInvariant((await waitForSnapshot(gw, eventId)).seats, tally.granted);
    expect(report.oversold).to.deep.equal([]);
    expect(report.grantedNotHeld).to.deep.equal([]);
    expect(report.heldWithoutHold).to.deep.equal([]);
    expect(report.grantedHolds).to.equal(tally.byStatus['201']);
  });

  it("the bench's grant phase: the closed loop's first seconds with at least half of their requests granted", () => {
    // 4 s of requests started at 0.0-3.9 s: 10 per second; 201 shares 90 %, 60 %, 40 %, 10 %
    const t = newTally();
    for (const [second, granted] of [9, 6, 4, 1].entries())
      for (let i = 0; i < 10; i++) {
        t.startedAt.push(second * 1000 + i * 100);
        t.latencies.push(5);
        t.granted201.push(i < granted ? 1 : 0);
      }
    expect(grantPhase(t)).to.deep.equal({ seconds: 2, attemptsPerS: 10, grantedPerS: 7.5 });
    // a loop that never reaches half: its first second alone
    const refused = newTally();
    for (let i = 0; i < 30; i++) {
      refused.startedAt.push(i * 100);
      refused.latencies.push(5);
      refused.granted201.push(i === 0 ? 1 : 0);
    }
    expect(grantPhase(refused)).to.deep.equal({ seconds: 1, attemptsPerS: 10, grantedPerS: 1 });
  });

  it('the closed loop client reads Content-Length and chunked answers, whole or in pieces, and sees Connection: close', () => {
    const sized = Buffer.from('HTTP/1.1 201 Created\r\ncontent-length: 11\r\n\r\n{"id":"h1"}HTTP/1.1 409');
    expect(parseResponse(sized.subarray(0, 40))).to.equal(undefined);
    const one = parseResponse(sized)!;
    expect([one.answer, one.close, sized.subarray(one.used).toString()]).to.deep.equal([
      { status: 201, body: '{"id":"h1"}' },
      false,
      'HTTP/1.1 409',
    ]);
    const chunked = Buffer.from(
      'HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n',
    );
    expect(parseResponse(chunked.subarray(0, chunked.length - 2))).to.equal(undefined);
    const two = parseResponse(chunked)!;
    expect([two.answer, two.close, two.used]).to.deep.equal([{ status: 409, body: '{"a":1}' }, true, chunked.length]);
  });
});
