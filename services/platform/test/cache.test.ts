// The read cache over a real redis-server: the near cache (generations and values reused from process memory)
// and its invalidation across replicas (two caches on two connections stand for two processes).
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { createReadCache, type ReadCache, type ReadCacheOptions } from '../src/cache.ts';
import { createLogger } from '../src/logger.ts';
import { createRedis } from '../src/redis.ts';
import { requireRedis, uniqueSuffix } from '../src/testing/harness.ts';
import { waitFor } from '../src/testing/wait.ts';

const silent = createLogger('cache-test', { level: 'silent' });
/** Far longer than any test: only an invalidation message can make a replica drop what it keeps. */
const LONG = 600_000;

describe('platform/cache over Redis (near cache)', function () {
  let url: string;
  let prefix: string;
  const clients: Redis[] = [];
  const caches: ReadCache[] = [];
  before(function () {
    [url] = requireRedis(this) as [string];
  });
  beforeEach(() => {
    prefix = `t:${uniqueSuffix()}:cache:`;
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.close()));
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  function redis(): Redis {
    const client = createRedis(url, {}, silent);
    clients.push(client);
    return client;
  }
  /** One replica's cache on its own connection; resolves once its invalidation channel is live. */
  async function replica(opts: Partial<ReadCacheOptions> = {}): Promise<ReadCache> {
    const cache = createReadCache({ redis: redis(), prefix, logger: silent, nearMs: LONG, ...opts });
    caches.push(cache);
    if ((opts.nearMs ?? LONG) > 0) await waitFor('the invalidation channel', () => cache.nearLive());
    return cache;
  }

  it('answers a generation and a value read once from process memory', async () => {
    const b = await replica();
    const raw = redis();
    await raw.set(`${prefix}v`, 'cached text');
    expect(await b.generation('ns')).to.equal(0);
    expect(await b.get('v')).to.equal('cached text');
    // behind the cache's back (no announcement): it still answers what it read
    await raw.incr(`${prefix}gen:ns`);
    await raw.del(`${prefix}v`);
    expect(await b.generation('ns')).to.equal(0);
    expect(await b.get('v')).to.equal('cached text');
  });

  it('with nearMs 0 every read asks Redis', async () => {
    const b = await replica({ nearMs: 0 });
    const raw = redis();
    await raw.set(`${prefix}v`, 'cached text');
    expect(await b.generation('ns')).to.equal(0);
    expect(await b.get('v')).to.equal('cached text');
    await raw.incr(`${prefix}gen:ns`);
    await raw.del(`${prefix}v`);
    expect(await b.generation('ns')).to.equal(1);
    expect(await b.get('v')).to.equal(undefined);
    expect(b.nearLive()).to.equal(false);
  });

  it("a bump in one replica is seen by another replica's next reads (announced on pub/sub)", async () => {
    const a = await replica();
    const b = await replica();
    expect(await b.generation('events:detail:1')).to.equal(0);
    expect(await b.generation('events:list')).to.equal(0);
    await a.bump('events:detail:1');
    // the writer itself at once; the other replica as soon as the message arrives (not after LONG)
    expect(await a.generation('events:detail:1')).to.equal(1);
    await waitFor('the other replica to see the bump', async () => (await b.generation('events:detail:1')) === 1);
    // other namespaces keep what they had
    expect(await b.generation('events:list')).to.equal(0);
  });

  it('a lost announcement delays an invalidation by at most nearMs', async () => {
    const b = await replica({ nearMs: 300 });
    const raw = redis();
    expect(await b.generation('ns')).to.equal(0);
    await raw.incr(`${prefix}gen:ns`); // a bump whose message never arrives
    await waitFor('the generation read again from Redis', async () => (await b.generation('ns')) === 1, {
      timeoutMs: 10_000,
    });
  });

  it('a value set by this replica is reused; one set under a new generation is a different key', async () => {
    const a = await replica();
    const b = await replica();
    await a.set(`g${await a.generation('d')}:body`, 'v1', 60);
    expect(await b.get('g0:body')).to.equal('v1');
    await a.bump('d');
    await waitFor('the bump at b', async () => (await b.generation('d')) === 1);
    expect(await b.get('g1:body')).to.equal(undefined);
    await a.set('g1:body', 'v2', 60);
    expect(await b.get('g1:body')).to.equal('v2');
  });
});
