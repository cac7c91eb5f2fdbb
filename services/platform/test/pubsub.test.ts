// Pub/sub across two independent connections to a real redis-server, and the announced in-process mode.
import { expect } from 'chai';
import { createLogger } from '../src/logger.ts';
import { createRedis } from '../src/redis.ts';
import { createPubSub, type PubSub } from '../src/pubsub.ts';
import { requireRedis, uniqueSuffix } from '../src/testing/harness.ts';

const silent = createLogger('pubsub-test', { level: 'silent' });

/** Resolves with the next message on the channel. */
function nextMessage(
  bus: PubSub,
  channel: string,
): Promise<{ message: string; channel: string; unsubscribe: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    let unsubscribe: () => Promise<void>;
    bus
      .subscribe(channel, (message, ch) => resolve({ message, channel: ch, unsubscribe }))
      .then((u) => (unsubscribe = u), reject);
  });
}

describe('platform/pubsub', function () {
  const open: PubSub[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });

  describe('over Redis', function () {
    let url: string;
    let prefix: string;
    before(function () {
      [url] = requireRedis(this) as [string];
    });
    beforeEach(() => {
      prefix = `t:${uniqueSuffix()}:`;
    });
    function pubsub(p = prefix): PubSub {
      const bus = createPubSub({ url, logger: silent, prefix: p });
      open.push(bus);
      return bus;
    }

    it('delivers a message published on one connection to a subscriber on another', async () => {
      const [subscriberSide, publisherSide] = [pubsub(), pubsub()];
      const received: string[] = [];
      await subscriberSide.subscribe('seats:e1', (m) => received.push(m));
      const next = nextMessage(subscriberSide, 'seats:e1');
      await publisherSide.publish('seats:e1', JSON.stringify({ seatId: 'A-1', status: 'held' }));
      const got = await next;
      expect(got.channel).to.equal('seats:e1');
      expect(JSON.parse(got.message)).to.deep.equal({ seatId: 'A-1', status: 'held' });
      expect(received).to.deep.equal([got.message]); // both handlers on the channel got it
    });

    it('namespaces channels by prefix and stops delivering after the last handler unsubscribes', async () => {
      const mine = pubsub();
      const other = pubsub(`t:${uniqueSuffix()}:`);
      const strayed: string[] = [];
      await other.subscribe('seats:e1', (m) => strayed.push(m));
      const first = nextMessage(mine, 'seats:e1');
      await pubsub().publish('seats:e1', 'one');
      const got = await first;
      await got.unsubscribe();
      const raw = createRedis(url);
      try {
        const counts = (await raw.call('PUBSUB', 'NUMSUB', `${prefix}seats:e1`)) as Array<string | number>;
        expect(Number(counts[1])).to.equal(0);
      } finally {
        await raw.quit();
      }
      // The other prefix's subscriber is on a different channel: a later message there proves it saw none of ours.
      const sentinel = nextMessage(other, 'seats:e1');
      await other.publish('seats:e1', 'theirs');
      await sentinel;
      expect(strayed).to.deep.equal(['theirs']);
    });
  });

  describe('without Redis', function () {
    it('announces in-process mode and delivers within the process, isolating a throwing handler', async () => {
      const logs: string[] = [];
      const bus = createPubSub({
        logger: createLogger('pubsub-test', {
          level: 'warn',
          destination: { write: (l: string) => void logs.push(l) } as any,
        }),
      });
      open.push(bus);
      expect(logs.some((l) => l.includes('in-process'))).to.equal(true);
      await bus.subscribe('seats:e2', () => {
        throw new Error('broken subscriber');
      });
      const next = nextMessage(bus, 'seats:e2');
      await bus.publish('seats:e2', 'sold');
      expect((await next).message).to.equal('sold');
      expect(logs.some((l) => l.includes('broken subscriber'))).to.equal(true);
    });
  });
});
