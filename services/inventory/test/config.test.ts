// Configuration at start: the event bus needs Redis or the Postgres bus database, and a bad value names the
// variable. Pure: nothing is started.
import { expect } from 'chai';
import { ConfigError, loadConfig } from '@eventtickets/platform';
import { TEST_INTERNAL_TOKEN_SECRET } from '@eventtickets/platform/testing';
import { configSchema } from '../src/config.ts';

const DATABASE_URL = 'postgres://localhost:5432/inventory';
const INTERNAL_TOKEN_SECRET = TEST_INTERNAL_TOKEN_SECRET;

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(configSchema, env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.variable} ${i.message}`);
  }
}

describe('inventory: configuration', () => {
  it('without Redis the in-memory mode needs BUS_DATABASE_URL, checked at start', () => {
    expect(problemsOf({ DATABASE_URL, INTERNAL_TOKEN_SECRET })).to.deep.equal([
      'REDIS_URL is required (or BUS_DATABASE_URL for the Postgres event bus)',
    ]);
    const memory = loadConfig(configSchema, {
      DATABASE_URL,
      INTERNAL_TOKEN_SECRET,
      BUS_DATABASE_URL: 'postgres://localhost:5432/bus',
    });
    expect(memory.REDIS_URL).to.deep.equal([]);
  });

  it('reads the Redis masters as a list and applies the defaults', () => {
    const config = loadConfig(configSchema, {
      DATABASE_URL,
      INTERNAL_TOKEN_SECRET,
      REDIS_URL: 'redis://a:6379, redis://b:6379',
    });
    expect(config.REDIS_URL).to.deep.equal(['redis://a:6379', 'redis://b:6379']);
    expect(config).to.include({ PORT: 8083, REDIS_PREFIX: 'et:', HOLD_LOCK_TTL_MS: 5_000, EXPIRY_INTERVAL_MS: 2_000 });
  });

  it('names each bad variable', () => {
    expect(
      problemsOf({
        DATABASE_URL: 'mysql://x',
        REDIS_URL: 'redis://a:6379',
        HOLD_LOCK_TTL_MS: '1',
        INTERNAL_TOKEN_SECRET,
      })
        .map((p) => p.split(' ')[0])
        .sort(),
    ).to.deep.equal(['DATABASE_URL', 'HOLD_LOCK_TTL_MS']);
  });

  it('group commit: HOLD_BATCH_MAX 64 and HOLD_BATCH_SLOTS 1 by default; slots beyond the pool or a negative size stop the start', () => {
    const env = { DATABASE_URL, INTERNAL_TOKEN_SECRET, REDIS_URL: 'redis://a:6379' };
    expect(loadConfig(configSchema, env)).to.include({ HOLD_BATCH_MAX: 64, HOLD_BATCH_SLOTS: 1 });
    expect(loadConfig(configSchema, { ...env, HOLD_BATCH_MAX: '0' })).to.include({ HOLD_BATCH_MAX: 0 });
    expect(
      problemsOf({ ...env, HOLD_BATCH_SLOTS: '21', HOLD_BATCH_MAX: '-1' })
        .map((p) => p.split(' ')[0])
        .sort(),
    ).to.deep.equal(['HOLD_BATCH_MAX', 'HOLD_BATCH_SLOTS']);
    expect(problemsOf({ ...env, HOLD_BATCH_SLOTS: '0' }).map((p) => p.split(' ')[0])).to.deep.equal([
      'HOLD_BATCH_SLOTS',
    ]);
  });

  it('taken-seats view: on, synced every 1 s by default; a word that is not a boolean or a sync under 10 ms stops the start', () => {
    const env = { DATABASE_URL, INTERNAL_TOKEN_SECRET, REDIS_URL: 'redis://a:6379' };
    expect(loadConfig(configSchema, env)).to.include({ HOLD_TAKEN_SEATS_VIEW: true, HOLD_TAKEN_SEATS_SYNC_MS: 1000 });
    expect(loadConfig(configSchema, { ...env, HOLD_TAKEN_SEATS_VIEW: 'false' })).to.include({
      HOLD_TAKEN_SEATS_VIEW: false,
    });
    expect(
      problemsOf({ ...env, HOLD_TAKEN_SEATS_VIEW: 'sometimes', HOLD_TAKEN_SEATS_SYNC_MS: '5' })
        .map((p) => p.split(' ')[0])
        .sort(),
    ).to.deep.equal(['HOLD_TAKEN_SEATS_SYNC_MS', 'HOLD_TAKEN_SEATS_VIEW']);
  });

  it('requires INTERNAL_TOKEN_SECRET (at least 32 characters) in every environment, never echoing it', () => {
    const env = { DATABASE_URL, REDIS_URL: 'redis://a:6379' };
    expect(problemsOf(env)).to.deep.equal(['INTERNAL_TOKEN_SECRET is required']);
    const short = problemsOf({ ...env, INTERNAL_TOKEN_SECRET: 'short-secret' });
    expect(short).to.have.length(1);
    expect(short[0]).to.match(/^INTERNAL_TOKEN_SECRET must be at least 32 characters/);
    expect(short[0]).not.to.include('short-secret');
  });
});
