// Child process for locks.test.ts: a read-sleep-write increment of a shared Redis counter, repeated, with or
// without the Redlock helper around it. It prints "ready", waits for "go" on stdin (so both workers race
// from the same moment), then prints "done" and exits.
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/logger.ts';
import { createRedis } from '../src/redis.ts';
import { createLocker } from '../src/locks.ts';

const { urls, prefix, counterKey, iterations, useLock } = JSON.parse(process.argv[2]!) as {
  urls: string[];
  prefix: string;
  counterKey: string;
  iterations: number;
  useLock: boolean;
};
const clients = urls.map((u) => createRedis(u));
const locker = createLocker({
  clients,
  logger: createLogger('locks-worker', { level: 'silent' }),
  prefix,
  retries: 1000,
  retryDelayMs: 2,
  jitterMs: 8,
});

async function increment(): Promise<void> {
  const value = Number((await clients[0]!.get(counterKey)) ?? '0');
  await sleep(3); // widen the window between read and write so unprotected updates collide
  await clients[0]!.set(counterKey, String(value + 1));
}

process.stdout.write('ready\n');
await once(process.stdin, 'data');
for (let i = 0; i < iterations; i++) {
  if (useLock) await locker.withLocks([counterKey], 5000, increment);
  else await increment();
}
process.stdout.write('done\n');
await Promise.all(clients.map((c) => c.quit()));
process.exit(0);
