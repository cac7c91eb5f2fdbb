// Configuration: validated at start, a bad value names its variable; where the simulator sends webhooks.
import { expect } from 'chai';
import { ConfigError, loadConfig } from '@eventtickets/platform';
import { TEST_INTERNAL_TOKEN_SECRET } from '@eventtickets/platform/testing';
import { configSchema, webhookUrl } from '../src/config.ts';
import { TEST_WEBHOOK_SECRET } from './helpers.ts';

const base = {
  DATABASE_URL: 'postgres://u@127.0.0.1/payments',
  REDIS_URL: 'redis://127.0.0.1:6379',
  INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
  PAYMENTS_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
};

function issues(env: Record<string, string | undefined>): Array<{ variable: string; message: string }> {
  try {
    loadConfig(configSchema, env as NodeJS.ProcessEnv);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('payments/config', () => {
  it('defaults: port 8085, the simulator, a 5-minute webhook tolerance', () => {
    const c = loadConfig(configSchema, base);
    expect(c).to.include({ PORT: 8085, PAYMENTS_PROVIDER: 'simulator', WEBHOOK_TOLERANCE_S: 300 });
  });

  it('refuses a missing or short webhook secret, an unknown provider, a bad URL, naming each variable', () => {
    expect(issues({ ...base, PAYMENTS_WEBHOOK_SECRET: undefined })).to.deep.equal([
      { variable: 'PAYMENTS_WEBHOOK_SECRET', message: 'is required' },
    ]);
    expect(issues({ ...base, PAYMENTS_WEBHOOK_SECRET: 'short' }).map((i) => i.variable)).to.deep.equal([
      'PAYMENTS_WEBHOOK_SECRET',
    ]);
    expect(issues({ ...base, PAYMENTS_PROVIDER: 'stripe' }).map((i) => i.variable)).to.deep.equal([
      'PAYMENTS_PROVIDER',
    ]);
    expect(issues({ ...base, PAYMENTS_WEBHOOK_URL: 'not a url' }).map((i) => i.variable)).to.deep.equal([
      'PAYMENTS_WEBHOOK_URL',
    ]);
    expect(issues({ ...base, INTERNAL_TOKEN_SECRET: undefined }).map((i) => i.variable)).to.deep.equal([
      'INTERNAL_TOKEN_SECRET',
    ]);
  });

  it('refuses the simulator in production unless a demo deployment asks for it', () => {
    expect(issues({ ...base, NODE_ENV: 'production' })).to.deep.equal([
      {
        variable: 'PAYMENTS_PROVIDER',
        message:
          'is the simulator, which accepts test cards as paid: refused in production (set a real provider, or PAYMENTS_SIMULATOR_IN_PRODUCTION=true for a demo)',
      },
    ]);
    expect(issues({ ...base, NODE_ENV: 'production', PAYMENTS_SIMULATOR_IN_PRODUCTION: 'true' })).to.deep.equal([]);
    expect(issues({ ...base, NODE_ENV: 'development' })).to.deep.equal([]);
  });

  it('webhooks go to PAYMENTS_WEBHOOK_URL, else the gateway public path, else the service itself', () => {
    expect(webhookUrl(loadConfig(configSchema, { ...base, PAYMENTS_WEBHOOK_URL: 'https://x.test/hook' }))).to.equal(
      'https://x.test/hook',
    );
    expect(webhookUrl(loadConfig(configSchema, { ...base, GATEWAY_URL: 'http://127.0.0.1:18180' }))).to.equal(
      'http://127.0.0.1:18180/api/payments/webhooks/simulator',
    );
    expect(webhookUrl(loadConfig(configSchema, base))).to.equal(
      'http://127.0.0.1:8085/api/payments/webhooks/simulator',
    );
  });
});
