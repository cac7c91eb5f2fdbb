import { expect } from 'chai';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { createRedis, type Redis } from '@eventtickets/platform';
import { requireRedis, uniqueSuffix } from '@eventtickets/platform/testing';
import { LeasedLimiter, leaseSize, MAX_LEASE } from '../src/limits/leases.ts';
import { sleep } from './helpers.ts';

/** A RateLimiterRedis that counts the round trips it makes. */
function countingLimiter(
  redis: Redis,
  keyPrefix: string,
  points: number,
  windowS: number,
): { limiter: RateLimiterRedis; trips: () => number } {
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: windowS });
  let trips = 0;
  const consume = limiter.consume.bind(limiter);
  limiter.consume = (key, n, options) => {
    trips++;
    return consume(key, n, options);
  };
  return { limiter, trips: () => trips };
}

/** Consumes until refused; the number of points granted. */
async function drain(limiter: LeasedLimiter, key: string, max: number): Promise<number> {
  let granted = 0;
  for (let i = 0; i < max; i++) {
    try {
      await limiter.consume(key);
      granted++;
    } catch (err) {
      expect(err).to.be.instanceOf(RateLimiterRes);
      return granted;
    }
  }
  return granted;
}

describe('gateway/rate-limit leases (real Redis)', () => {
  let redis: Redis;
  let prefix: string;

  before(async function () {
    const [url] = requireRedis(this);
    redis = createRedis(url, { enableOfflineQueue: false });
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('error', reject);
    });
    prefix = `t-gw-lease-${uniqueSuffix()}:`;
  });
  after(async () => {
    if (!redis) return;
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('sizes leases at 1% of the limit, exact (1) for small limits, capped for huge ones', () => {
    expect([leaseSize(1), leaseSize(10), leaseSize(30), leaseSize(199), leaseSize(1200), leaseSize(1e9)]).to.deep.equal(
      [1, 1, 1, 1, 12, MAX_LEASE],
    );
  });

  it('serves a busy key with one Redis round trip per lease, with decreasing RateLimit-Remaining', async () => {
    const { limiter, trips } = countingLimiter(redis, `${prefix}busy`, 1000, 60);
    const leased = new LeasedLimiter(limiter, 1000);
    expect(leased.lease).to.equal(10);
    const remaining: number[] = [];
    for (let i = 0; i < 100; i++) remaining.push((await leased.consume('1.2.3.4')).remainingPoints);
    expect(trips()).to.equal(10);
    expect(remaining[0]).to.equal(999);
    expect(remaining[99]).to.equal(900);
    expect(remaining.every((r, i) => i === 0 || r === remaining[i - 1] - 1)).to.equal(true);
    expect(Number(await redis.get(`${prefix}busy:1.2.3.4`))).to.equal(100);
  });

  it('lets concurrent requests of one key share a lease request instead of each asking Redis', async () => {
    const { limiter, trips } = countingLimiter(redis, `${prefix}concurrent`, 1000, 60);
    const leased = new LeasedLimiter(limiter, 1000);
    const results = await Promise.all(Array.from({ length: 30 }, () => leased.consume('k')));
    expect(results).to.have.length(30);
    expect(trips()).to.equal(3);
    expect(results.map((r) => r.remainingPoints).sort((a, b) => b - a)[29]).to.equal(970);
  });

  it('never grants more than the limit across replicas, including a lease that straddles it', async () => {
    // Two replicas (two LeasedLimiters) on one Redis counter: limit 12, leases of 5 → 5 + 5 + the 2 left.
    const a = new LeasedLimiter(
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}shared`, points: 12, duration: 60 }),
      12,
      5,
    );
    const b = new LeasedLimiter(
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}shared`, points: 12, duration: 60 }),
      12,
      5,
    );
    let granted = 0;
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      try {
        await (i % 2 ? b : a).consume('client');
        granted++;
      } catch (err) {
        expect(err).to.be.instanceOf(RateLimiterRes);
        expect((err as RateLimiterRes).msBeforeNext).to.be.greaterThan(0);
        refused++;
      }
    }
    expect(granted).to.equal(12);
    expect(refused).to.equal(18);
  });

  it('refuses a key over its limit locally for the rest of the window, then grants a fresh window', async () => {
    const { limiter, trips } = countingLimiter(redis, `${prefix}window`, 4, 1);
    const leased = new LeasedLimiter(limiter, 4, 2);
    expect(await drain(leased, 'k', 10)).to.equal(4);
    const tripsWhenRefused = trips();
    for (let i = 0; i < 5; i++)
      await leased.consume('k').then(
        () => expect.fail('granted over the limit'),
        (err) => expect(err).to.be.instanceOf(RateLimiterRes),
      );
    expect(trips(), 'a refused window is not asked again').to.equal(tripsWhenRefused);
    await sleep(1100);
    expect(await drain(leased, 'k', 10)).to.equal(4);
  });

  it('forgets keys whose window is over', async () => {
    const leased = new LeasedLimiter(
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}sweep`, points: 10, duration: 1 }),
      10,
      1,
    );
    for (let i = 0; i < 1000; i++) await leased.consume(`client-${i}`);
    expect(leased.size).to.equal(1000);
    await sleep(1100);
    for (let i = 0; i < 24; i++) await leased.consume(`late-${i}`); // the 1024th lease taken sweeps
    expect(leased.size).to.equal(24);
  });
});
