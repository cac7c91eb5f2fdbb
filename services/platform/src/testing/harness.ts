// Test harness for suites: a fresh database per suite on the shared Postgres, the shared Redis masters,
// and skips that name the missing tool (never allowed when CI is set: there a skip is a failure).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { findBinary } from './processes.ts';

export const inCI = !!process.env.CI && process.env.CI !== 'false';

/** Skips the current test/suite naming the missing tool, or fails when CI is set. */
export function skipOrFail(ctx: Mocha.Context, reason: string): never {
  if (inCI) throw new Error(`required in CI but missing: ${reason}`);
  console.log(`      skipped: ${reason}`);
  ctx.skip();
  throw new Error('unreachable');
}

export function requirePostgres(ctx: Mocha.Context): string {
  const url = process.env.ET_TEST_PG_URL;
  if (!url)
    skipOrFail(ctx, process.env.ET_TEST_PG_MISSING ?? 'embedded Postgres (run through mocha with the global fixtures)');
  return url!;
}

export function requireRedis(ctx: Mocha.Context): string[] {
  const urls = process.env.ET_TEST_REDIS_URLS;
  if (!urls) skipOrFail(ctx, process.env.ET_TEST_REDIS_MISSING ?? 'redis-server');
  return urls!.split(',');
}

export function requireBinary(ctx: Mocha.Context, name: string, hint = ''): string {
  const path = findBinary(name);
  if (!path) skipOrFail(ctx, `${name} not found${hint ? ` (${hint})` : ''}`);
  return path!;
}

/** A unique short suffix for names shared across parallel suites (databases, Redis key prefixes, streams). */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** Creates a fresh database for this suite and returns its URL. */
export async function createTestDatabase(ctx: Mocha.Context, suite: string): Promise<string> {
  const admin = requirePostgres(ctx);
  const name = `t_${suite
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 40)}_${uniqueSuffix()}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
