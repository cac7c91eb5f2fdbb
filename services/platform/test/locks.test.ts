// Locks against three real redis-server masters: mutual exclusion between two OS processes (and the same
// race without the lock losing updates, proving the test can fail), expiry aborting the signal, bounded
// retries, and the announced in-process mode.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/logger.ts';
import { createRedis, type Redis } from '../src/redis.ts';
import { createLocker, LockExpiredError, LockUnavailableError } from '../src/locks.ts';
import { requireRedis, uniqueSuffix } from '../src/testing/harness.ts';
import { stopChild } from '../src/testing/processes.ts';

const silent = createLogger('locks-test', { level: 'silent' });
const worker = fileURLToPath(new URL('./locks.worker.ts', import.meta.url));

function capturingLogger(lines: string[]) {
  return createLogger('locks-test', {
    level: 'warn',
    destination: { write: (line: string) => void lines.push(line) } as any,
  });
}

function lines(child: ChildProcess): AsyncIterator<string> {
  let buffer = '';
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  return {
    next: () =>
      new Promise((resolve) =>
        queue.length
          ? resolve({ value: queue.shift()!, done: false })
          : waiters.push((value) => resolve({ value, done: false })),
      ),
  };
}

describe('platform/locks (three real Redis masters)', function () {
  let urls: string[];
  let clients: Redis[];
  let prefix: string;
  const children: ChildProcess[] = [];

  before(function () {
    urls = requireRedis(this);
    clients = urls.map((u) => createRedis(u));
  });
  beforeEach(() => {
    prefix = `t:${uniqueSuffix()}:lock:`;
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => stopChild(c)));
  });
  after(async () => {
    await Promise.all((clients ?? []).map((c) => c.quit()));
  });

  /** Two worker processes race read-sleep-write increments; returns the final counter value. */
  async function race(useLock: boolean, iterations: number): Promise<number> {
    const counterKey = `t:${uniqueSuffix()}:counter`;
    const spawned = [0, 1].map(() =>
      spawn(process.execPath, [worker, JSON.stringify({ urls, prefix, counterKey, iterations, useLock })], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    children.push(...spawned);
    const outputs = spawned.map(lines);
    for (const out of outputs) expect((await out.next()).value).to.equal('ready');
    for (const child of spawned) child.stdin!.write('go\n');
    for (const out of outputs) expect((await out.next()).value).to.equal('done');
    const codes = await Promise.all(
      spawned.map((c) => (c.exitCode !== null ? c.exitCode : once(c, 'exit').then(([code]) => code))),
    );
    expect(codes).to.deep.equal([0, 0]);
    return Number(await clients[0]!.get(counterKey));
  }

  it('gives mutual exclusion between two separate OS processes', async () => {
    expect(await race(true, 25)).to.equal(50);
  });

  it('the same race without the lock loses updates (so the test above can fail)', async () => {
    expect(await race(false, 25)).to.be.below(50);
  });

  it('takes sorted, de-duplicated, prefixed keys on every master and releases them afterwards', async () => {
    const locker = createLocker({ clients, logger: silent, prefix });
    const held = await locker.withLocks(['seat-b', 'seat-a', 'seat-b'], 5000, async () =>
      Promise.all(clients.map((c) => c.exists(`${prefix}seat-a`, `${prefix}seat-b`))),
    );
    expect(held).to.deep.equal([2, 2, 2]);
    expect(await Promise.all(clients.map((c) => c.exists(`${prefix}seat-a`, `${prefix}seat-b`)))).to.deep.equal([
      0, 0, 0,
    ]);
  });

  it('aborts the signal when the lock expires before the operation finishes', async () => {
    const locker = createLocker({ clients, logger: silent, prefix });
    const reason = await locker.withLocks(['slow'], 100, async ({ signal }) => {
      expect(signal.aborted).to.equal(false);
      await once(signal, 'abort');
      return signal.reason;
    });
    expect(reason).to.be.instanceOf(LockExpiredError);
    expect((reason as LockExpiredError).keys).to.deep.equal(['slow']);
    // Expired in Redis too: another holder gets it at once.
    const other = createLocker({ clients, logger: silent, prefix, retries: 0 });
    expect(await other.withLocks(['slow'], 1000, async ({ signal }) => signal.aborted)).to.equal(false);
  });

  it('gives up with LockUnavailableError after its retries while another holder keeps the key, and reports the wait', async () => {
    const holder = createLocker({ clients, logger: silent, prefix });
    const waits: number[] = [];
    const contender = createLocker({
      clients,
      logger: silent,
      prefix,
      retries: 2,
      retryDelayMs: 5,
      jitterMs: 5,
      onWait: (s) => waits.push(s),
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let acquired!: () => void;
    const isHeld = new Promise<void>((r) => (acquired = r));
    const holding = holder.withLocks(['hot', 'cold'], 10_000, async () => {
      acquired();
      await gate;
    });
    await isHeld;
    let error: unknown;
    let ran = false;
    await contender.withLocks(['hot', 'alpha'], 1000, async () => void (ran = true)).catch((err) => (error = err));
    expect(ran).to.equal(false);
    expect(error).to.be.instanceOf(LockUnavailableError);
    expect((error as LockUnavailableError).keys).to.deep.equal(['alpha', 'hot']); // sorted
    expect(waits).to.have.length(1);
    release();
    await holding;
    expect(await contender.withLocks(['hot'], 1000, async () => 'got it')).to.equal('got it');
  });

  it('without Redis: announces single-node mode and still excludes within the process, with expiry', async () => {
    const logs: string[] = [];
    const locker = createLocker({
      clients: [],
      logger: capturingLogger(logs),
      retries: 1000,
      retryDelayMs: 1,
      jitterMs: 2,
    });
    expect(logs.some((l) => l.includes('single-node mode'))).to.equal(true);
    let counter = 0;
    const increment = async () => {
      const value = counter;
      await sleep(1);
      counter = value + 1;
    };
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let i = 0; i < 10; i++) await locker.withLocks(['n'], 5000, increment);
      }),
    );
    expect(counter).to.equal(30);
    const reason = await locker.withLocks(['m'], 50, async ({ signal }) => {
      await once(signal, 'abort');
      return signal.reason;
    });
    expect(reason).to.be.instanceOf(LockExpiredError);
  });
});
