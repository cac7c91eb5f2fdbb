import { expect } from 'chai';
import { PROBLEM_BASE, createRedis, type Redis } from '@eventtickets/platform';
import { requireRedis, startFakeUpstream, uniqueSuffix, type FakeUpstream } from '@eventtickets/platform/testing';
import {
  newSigningKey,
  signToken,
  sleep,
  startGateway,
  startUsersWithJwks,
  unusedUrl,
  type RunningGateway,
  type SigningKey,
} from './helpers.ts';

describe('gateway/rate limits (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let users: Awaited<ReturnType<typeof startUsersWithJwks>>;
  let catalog: FakeUpstream;
  let inventory: FakeUpstream;
  let key: SigningKey;
  const gateways: RunningGateway[] = [];

  before(async function () {
    const [url] = requireRedis(this);
    redis = createRedis(url, { enableOfflineQueue: false }); // as in main.ts: fail fast, never queue
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('error', reject);
    });
    key = await newSigningKey('k1');
    users = await startUsersWithJwks([key]);
    catalog = await startFakeUpstream('catalog');
    inventory = await startFakeUpstream('inventory');
    prefix = `t-gw-${uniqueSuffix()}:`;
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all([users, catalog, inventory].map((u) => u?.close()));
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  async function gateway(env: Record<string, string>): Promise<RunningGateway> {
    const gw = await startGateway(
      {
        USERS_URL: users.url,
        CATALOG_URL: catalog.url,
        INVENTORY_URL: inventory.url,
        REDIS_PREFIX: `${prefix}${uniqueSuffix()}:`,
        ...env,
      },
      { redis },
    );
    gateways.push(gw);
    return gw;
  }

  /** Fires n requests at once: the 1-second window must not expire in the middle of a slow sequence. */
  async function burst(n: number, send: () => Promise<Response>): Promise<{ ok: Response[]; limited: Response[] }> {
    const all = await Promise.all(Array.from({ length: n }, send));
    const unexpected = all.filter((r) => r.status !== 200 && r.status !== 429).map((r) => r.status);
    expect(unexpected).to.deep.equal([]);
    return { ok: all.filter((r) => r.status === 200), limited: all.filter((r) => r.status === 429) };
  }

  it('limits per IP with 429, Retry-After and RateLimit-* headers, and recovers after the window', async () => {
    const gw = await gateway({ RATE_LIMIT_IP_POINTS: '3', RATE_LIMIT_IP_WINDOW_S: '1' });
    const before = catalog.seen.length;
    const { ok, limited } = await burst(5, () => fetch(`${gw.url}/api/events`));
    expect(ok).to.have.length(3);
    expect(limited).to.have.length(2);
    expect(catalog.seen.length - before, 'a limited request never reaches the service').to.equal(3);
    expect(ok.map((r) => r.headers.get('ratelimit-remaining')).sort()).to.deep.equal(['0', '1', '2']);
    for (const res of [...ok, ...limited]) {
      expect(res.headers.get('ratelimit-limit')).to.equal('3');
      expect(res.headers.get('ratelimit-reset')).to.equal('1');
    }
    const res = limited[0];
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.headers.get('retry-after')).to.equal('1');
    expect(res.headers.get('ratelimit-remaining')).to.equal('0');
    expect(await res.json()).to.include({ type: `${PROBLEM_BASE}rate-limited`, status: 429, limit: 'ip' });
    // the counters are in Redis (shared by every gateway replica), not in this process
    expect(await redis.keys(`${prefix}*gw:rl:ip*`)).to.have.length.greaterThan(0);

    await sleep(1100);
    expect((await fetch(`${gw.url}/api/events`)).status).to.equal(200);
  });

  it('shares the per-IP budget between gateway replicas through Redis', async () => {
    const env = { RATE_LIMIT_IP_POINTS: '2', RATE_LIMIT_IP_WINDOW_S: '10', REDIS_PREFIX: `${prefix}shared:` };
    const a = await startGateway({ USERS_URL: users.url, CATALOG_URL: catalog.url, ...env }, { redis });
    const b = await startGateway({ USERS_URL: users.url, CATALOG_URL: catalog.url, ...env }, { redis });
    gateways.push(a, b);
    expect((await fetch(`${a.url}/api/events`)).status).to.equal(200);
    expect((await fetch(`${b.url}/api/events`)).status).to.equal(200);
    expect((await fetch(`${a.url}/api/events`)).status).to.equal(429);
    expect((await fetch(`${b.url}/api/events`)).status).to.equal(429);
  });

  it('takes a large per-IP budget from Redis in leases and still never lets more through than the limit across replicas', async () => {
    // 200 points → leases of 2; the two replicas alternate until both refuse.
    const env = { RATE_LIMIT_IP_POINTS: '200', RATE_LIMIT_IP_WINDOW_S: '30', REDIS_PREFIX: `${prefix}leased:` };
    const a = await startGateway({ USERS_URL: users.url, CATALOG_URL: catalog.url, ...env }, { redis });
    const b = await startGateway({ USERS_URL: users.url, CATALOG_URL: catalog.url, ...env }, { redis });
    gateways.push(a, b);
    const before = catalog.seen.length;
    const statuses: number[] = [];
    for (let i = 0; i < 220; i++) {
      const res = await fetch(`${i % 2 ? b.url : a.url}/api/events`);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 200)).to.have.length(200);
    expect(statuses.filter((s) => s === 429)).to.have.length(20);
    expect(catalog.seen.length - before).to.equal(200);
    const [counter] = await redis.keys(`${prefix}leased:gw:rl:ip*`);
    // 100 leases of 2, then one refused lease per replica; later refusals are answered locally (else 240).
    expect(Number(await redis.get(counter))).to.equal(204);
  });

  it('counts requests refused by authentication (401) against the IP budget, so forged tokens cannot flood the gateway', async () => {
    const gw = await gateway({ RATE_LIMIT_IP_POINTS: '3', RATE_LIMIT_IP_WINDOW_S: '10' });
    const forged = `${await signToken(key, { sub: 'mallory' })}x`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gw.url}/api/holds/h1`, { headers: { authorization: `Bearer ${forged}` } });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
  });

  it('limits per user, whatever the IP budget', async () => {
    const gw = await gateway({ RATE_LIMIT_USER_POINTS: '2', RATE_LIMIT_USER_WINDOW_S: '10' });
    const alice = await signToken(key, { sub: 'alice' });
    const bob = await signToken(key, { sub: 'bob' });
    const get = (t: string) => fetch(`${gw.url}/api/holds/h1`, { headers: { authorization: `Bearer ${t}` } });
    const { ok, limited } = await burst(3, () => get(alice));
    expect([ok.length, limited.length]).to.deep.equal([2, 1]);
    expect((await limited[0].json()).limit).to.equal('user');
    expect((await get(bob)).status).to.equal(200);
  });

  it('limits hold creation per user more strictly than other calls, and recovers after the window', async () => {
    const gw = await gateway({ RATE_LIMIT_HOLDS_POINTS: '1', RATE_LIMIT_HOLDS_WINDOW_S: '1' });
    const carol = await signToken(key, { sub: 'carol' });
    const hold = () =>
      fetch(`${gw.url}/api/holds`, {
        method: 'POST',
        headers: { authorization: `Bearer ${carol}`, 'content-type': 'application/json' },
        body: '{"seats":["A1"]}',
      });
    const { ok, limited } = await burst(2, hold);
    expect([ok.length, limited.length]).to.deep.equal([1, 1]);
    expect((await limited[0].json()).limit).to.equal('holds');
    expect(limited[0].headers.get('retry-after')).to.equal('1');
    // reading a hold is not a hold creation
    expect((await fetch(`${gw.url}/api/holds/h1`, { headers: { authorization: `Bearer ${carol}` } })).status).to.equal(
      200,
    );
    await sleep(1100);
    expect((await hold()).status).to.equal(200);
  });

  it('limits login attempts per account and IP, and forwards the login body unchanged', async () => {
    const gw = await gateway({ RATE_LIMIT_LOGIN_POINTS: '2', RATE_LIMIT_LOGIN_WINDOW_S: '10' });
    const login = (email: string) =>
      fetch(`${gw.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'wrong' }),
      });
    expect((await login('victim@example.com')).status).to.equal(200);
    expect((await login('Victim@Example.com')).status).to.equal(200);
    const limited = await login('victim@example.com');
    expect(limited.status).to.equal(429);
    expect((await limited.json()).limit).to.equal('login');
    expect((await login('someone-else@example.com')).status).to.equal(200);
    const last = users.seen[users.seen.length - 1];
    expect(last.url).to.equal('/api/auth/login');
    expect(last.bodyLength).to.equal(
      Buffer.byteLength(JSON.stringify({ email: 'someone-else@example.com', password: 'wrong' })),
    );
  });
});

describe('gateway/rate limits without Redis', () => {
  let catalog: FakeUpstream;
  const gateways: RunningGateway[] = [];
  before(async () => {
    catalog = await startFakeUpstream('catalog');
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await catalog?.close();
  });

  async function limitedTwice(gw: RunningGateway): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/api/events`);
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get('retry-after')).to.match(/^\d+$/);
    }
    return statuses;
  }

  it('the announced in-memory mode (no REDIS_URL) still limits, with the same 429 and headers', async () => {
    const gw = await startGateway({
      CATALOG_URL: catalog.url,
      RATE_LIMIT_IP_POINTS: '2',
      RATE_LIMIT_IP_WINDOW_S: '30',
    });
    gateways.push(gw);
    expect(await limitedTwice(gw)).to.deep.equal([200, 200, 429, 429]);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).to.match(/^gateway_rate_limited_total\{[^}]*limit="ip"[^}]*\} 2$/m);
  });

  it('a Redis that is down falls back to the in-memory insurance limiter: still limited, never a 500', async () => {
    const dead = createRedis(`redis://${new URL(await unusedUrl()).host}`, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    dead.on('error', () => undefined);
    const gw = await startGateway(
      {
        CATALOG_URL: catalog.url,
        RATE_LIMIT_IP_POINTS: '2',
        RATE_LIMIT_IP_WINDOW_S: '30',
        REDIS_PREFIX: `t-dead-${uniqueSuffix()}:`,
      },
      { redis: dead },
    );
    gateways.push(gw);
    try {
      expect(await limitedTwice(gw)).to.deep.equal([200, 200, 429, 429]);
    } finally {
      dead.disconnect();
    }
  });
});
