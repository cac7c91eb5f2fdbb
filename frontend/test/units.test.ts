// The app's pure rules, without a browser: the availability stream's gap rules and the problem+json → sentence
// mapping every page shows.
import { expect } from 'chai';
import { planBatch } from '../src/utils/availability-rules.ts';
import { ApiError, humanMessage, messageOf, problemSlug, OFFLINE_MESSAGE } from '../src/api/problems.ts';

const P = 'https://eventtickets.dev/problems/';
const c = (seq: number) => ({ seq });

describe('frontend: availability gap rules (planBatch)', () => {
  it('applies the next changes in order and ignores ones already applied', () => {
    expect(planBatch(4, [c(3), c(4), c(5), c(6)])).to.deep.equal({ apply: [c(5), c(6)], resync: false });
    expect(planBatch(10, [c(9), c(10)])).to.deep.equal({ apply: [], resync: false });
  });

  it('asks for the snapshot at a gap, keeping what came before it', () => {
    expect(planBatch(4, [c(5), c(7), c(8)])).to.deep.equal({ apply: [c(5)], resync: true });
    expect(planBatch(0, [c(2)])).to.deep.equal({ apply: [], resync: true });
  });
});

describe('frontend: problem+json to human messages', () => {
  it('maps stable types to sentences, with the decline reason', () => {
    expect(problemSlug({ type: `${P}seats-unavailable` })).to.equal('seats-unavailable');
    expect(humanMessage({ type: `${P}seats-unavailable`, status: 409, detail: 'raw' })).to.match(/just took/);
    expect(humanMessage({ type: `${P}password-work-busy`, status: 503, detail: 'raw' })).to.match(
      /signing in right now/,
    );
    expect(humanMessage({ type: `${P}login-backoff`, status: 429, detail: 'raw' })).to.match(/failed sign-ins/);
    expect(humanMessage({ type: `${P}payment-declined`, status: 402, reason: 'insufficient_funds' })).to.equal(
      'Your card was declined: insufficient funds. Try another card; your seats are still reserved.',
    );
    expect(
      humanMessage({ type: `${P}validation-error`, errors: [{ field: 'email', message: 'is invalid' }] }),
    ).to.match(/^Some of the details are not valid: email is invalid\.$/);
  });

  it("falls back to the server's detail, then to the status", () => {
    expect(humanMessage({ type: `${P}something-new`, status: 409, detail: 'The server says why' })).to.equal(
      'The server says why',
    );
    expect(humanMessage(undefined, 503)).to.match(/briefly unavailable|busy/);
    expect(humanMessage(undefined, 401)).to.match(/sign in/i);
  });

  it('says "offline" for a network failure and carries the problem on ApiError', () => {
    expect(messageOf(new TypeError('Failed to fetch'))).to.equal(OFFLINE_MESSAGE);
    const e = new ApiError(409, { type: `${P}sales-closed`, status: 409, title: 'Conflict' });
    expect(e.slug).to.equal('sales-closed');
    expect(messageOf(e)).to.match(/closed/);
  });
});
