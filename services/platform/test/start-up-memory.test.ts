// The one memory-reducing collection a service runs after it listens (issue 19): it gives the start-up garbage
// back (heap pages V8 would otherwise keep in a service that never stops polling), without installing `gc`.
import { expect } from 'chai';
import { collectStartUpGarbage, createIdleCollector } from '../src/start-up-memory.ts';
import { createLogger } from '../src/logger.ts';
import { fixture, startChild, type RunningChild } from './fixtures/child.ts';

const MiB = 1024 * 1024;

describe('platform/start-up-memory', function () {
  let svc: RunningChild | undefined;
  afterEach(() => svc?.kill());

  it('collectStartUpGarbage releases the heap pages garbage left behind, and installs no global gc', () => {
    const hadGc = 'gc' in globalThis;
    // ~40 MiB of objects, promoted over several collections while the heap grows, then dropped
    const make = () => Array.from({ length: 400_000 }, (_, i) => ({ i, s: `item ${i}`, a: [i, i] }));
    const kept: unknown[][] = [make()];
    const before = process.memoryUsage().heapTotal;
    expect(before / MiB).to.be.greaterThan(40);
    kept.length = 0;
    const result = collectStartUpGarbage();
    const after = process.memoryUsage().heapTotal;
    expect((before - after) / MiB, 'heap given back').to.be.greaterThan(20);
    expect(result.rssAfterMiB).to.be.a('number').and.greaterThan(0);
    expect('gc' in globalThis, 'a global gc installed').to.equal(hadGc);
  });

  it('the idle collector collects again only after an interval with nothing but probes, once RSS has grown', () => {
    let rss = 100;
    const collections: number[] = [];
    const idle = createIdleCollector({
      logger: createLogger('idle-test', { level: 'silent' }),
      growthMiB: 8,
      rssMiB: () => rss,
      collect: () => {
        collections.push(rss);
        rss = 101;
        return { ms: 1, cpuMs: 1, rssBeforeMiB: collections.at(-1)!, rssAfterMiB: 101 };
      },
    });
    expect(idle.tick(), 'before the start-up collection').to.equal(false);
    idle.collected(100);
    rss = 107.9;
    expect(idle.tick(), 'grown by less than 8 MiB').to.equal(false);
    rss = 110;
    idle.noteRequest('/api/events');
    expect(idle.tick(), 'an interval with a request is busy').to.equal(false);
    for (const probe of ['/healthz', '/readyz', '/metrics']) idle.noteRequest(probe);
    expect(idle.tick(), 'probes only, grown by 10 MiB').to.equal(true);
    expect(collections).to.deep.equal([110]);
    rss = 108.5;
    expect(idle.tick(), 'measured from what the collection left (101)').to.equal(false);
    rss = 109;
    expect(idle.tick()).to.equal(true);
    expect(collections).to.deep.equal([110, 109]);
  });

  it('runService runs it once after listening', async () => {
    svc = startChild([fixture('idle-service.ts')], { LOG_LEVEL: 'debug', START_UP_GC_DELAY_MS: '50' });
    await svc.waitForRecord((r) => r.msg === 'idle-service listening', 'listening log');
    const record = await svc.waitForRecord((r) => r.msg === 'start-up garbage collected', 'the collection');
    expect(record.rssAfterMiB).to.be.a('number').and.greaterThan(0);
    expect(record.ms).to.be.a('number');
  });

  it('runService does not pause a service that is serving: the collection waits for a stretch with only probes', async () => {
    svc = startChild([fixture('idle-service.ts')], { LOG_LEVEL: 'debug', START_UP_GC_DELAY_MS: '200' });
    const { url } = await svc.waitForRecord((r) => r.msg === 'idle-service listening', 'listening log');
    // requests (not probes) every 40 ms for 1.2 s: six delays of 200 ms, none of them quiet
    const until = Date.now() + 1_200;
    while (Date.now() < until) {
      await fetch(`${url}/not-a-probe`).then((r) => r.arrayBuffer());
      await new Promise((r) => setTimeout(r, 40));
    }
    const collectedWhileServing = svc.records().some((r) => r.msg === 'start-up garbage collected');
    // probes alone leave the stretch quiet
    await fetch(`${url}/healthz`).then((r) => r.arrayBuffer());
    await svc.waitForRecord((r) => r.msg === 'start-up garbage collected', 'the collection once quiet');
    expect(collectedWhileServing, 'collected while requests kept coming').to.equal(false);
  });
});
