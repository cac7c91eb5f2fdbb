// Mocha global fixtures (.mocharc.cjs `require`): one embedded Postgres and three redis-server instances for the
// whole run, started in the main mocha process before parallel workers fork (workers inherit the URLs through
// the environment). Postgres runs with the tests' fast, non-durable settings.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, startRedis, findBinary, type PostgresHandle, type RedisHandle } from './processes.ts';

let postgres: PostgresHandle | undefined;
let redis: RedisHandle[] = [];
let dir: string | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'et-test-'));
  chmodSync(dir, 0o755); // Postgres runs as its own user when we are root
  try {
    postgres = await startPostgres(join(dir, 'pg'), { fast: true });
    process.env.ET_TEST_PG_URL = postgres.url;
  } catch (err) {
    process.env.ET_TEST_PG_MISSING = `embedded Postgres could not start: ${(err as Error).message}`;
  }
  if (findBinary('redis-server')) {
    redis = await Promise.all([0, 1, 2].map(() => startRedis()));
    process.env.ET_TEST_REDIS_URLS = redis.map((r) => r.url).join(',');
  } else {
    process.env.ET_TEST_REDIS_MISSING = 'redis-server not found (apt-get install -y redis-server)';
  }
}

export async function mochaGlobalTeardown(): Promise<void> {
  await Promise.all(redis.map((r) => r.stop()));
  await postgres?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
