// The one memory-reducing collection a service runs after it listens (issue 19): it gives the start-up garbage
// back (heap pages V8 would otherwise keep in a service that never stops polling), without installing `gc`.
import { expect } from 'chai';
import { collectStartUpGarbage } from '../src/start-up-memory.ts';
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

  it('runService runs it once after listening', async () => {
    svc = startChild([fixture('idle-service.ts')], { LOG_LEVEL: 'debug', START_UP_GC_DELAY_MS: '50' });
    await svc.waitForRecord((r) => r.msg === 'idle-service listening', 'listening log');
    const record = await svc.waitForRecord((r) => r.msg === 'start-up garbage collected', 'the collection');
    expect(record.rssAfterMiB).to.be.a('number').and.greaterThan(0);
    expect(record.ms).to.be.a('number');
  });
});
