import { expect } from 'chai';
import { ConfigError, loadConfig } from '@eventtickets/platform';
import { TEST_INTERNAL_TOKEN_SECRET } from '@eventtickets/platform/testing';
import { configSchema, parseByteSize, upstreamUrls } from '../src/config.ts';

/** The one variable without a default. */
const required = { INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET };

describe('gateway/config', () => {
  it('applies the documented defaults', () => {
    const cfg = loadConfig(configSchema, required);
    expect(cfg).to.include({
      PORT: 8080,
      JWT_ISSUER: 'eventtickets',
      JWT_AUDIENCE: 'eventtickets-api',
      REDIS_PREFIX: 'et:',
      BODY_LIMIT: 1024 * 1024,
      UPSTREAM_TIMEOUT_MS: 10_000,
      TRUST_PROXY: false,
      STREAM_COALESCE_MS: 250,
    });
    expect(cfg.FRONTEND_DIR).to.match(/frontend\/dist$/);
    expect(cfg.CORS_ORIGINS).to.deep.equal([]);
    expect(upstreamUrls(cfg)).to.deep.equal({});
  });

  it('reads upstream URLs, origins and sizes', () => {
    const cfg = loadConfig(configSchema, {
      ...required,
      CATALOG_URL: 'http://catalog:8082',
      ORDERS_URL: '',
      CORS_ORIGINS: 'https://a.example.com, http://localhost:9000',
      BODY_LIMIT: '512kb',
      TRUST_PROXY: 'true',
    });
    expect(upstreamUrls(cfg)).to.deep.equal({ catalog: 'http://catalog:8082' });
    expect(cfg.CORS_ORIGINS).to.deep.equal(['https://a.example.com', 'http://localhost:9000']);
    expect(cfg.BODY_LIMIT).to.equal(512 * 1024);
    expect(cfg.TRUST_PROXY).to.equal(true);
    expect(parseByteSize('2mb')).to.equal(2 * 1024 * 1024);
    expect(parseByteSize('100')).to.equal(100);
  });

  it('fails fast naming each bad variable', () => {
    const bad = {
      ...required,
      CATALOG_URL: 'not a url',
      BODY_LIMIT: 'lots',
      CORS_ORIGINS: 'https://ok.example.com/path',
      RATE_LIMIT_IP_POINTS: '0',
      UPSTREAM_TIMEOUT_MS: '-5',
      STREAM_COALESCE_MS: '5000',
    };
    try {
      loadConfig(configSchema, bad);
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      const named = (err as ConfigError).issues.map((i) => i.variable).sort();
      expect(named).to.deep.equal([
        'BODY_LIMIT',
        'CATALOG_URL',
        'CORS_ORIGINS',
        'RATE_LIMIT_IP_POINTS',
        'STREAM_COALESCE_MS',
        'UPSTREAM_TIMEOUT_MS',
      ]);
    }
  });

  it('refuses to start without INTERNAL_TOKEN_SECRET, or with one under 32 characters', () => {
    for (const [env, message] of [
      [{}, 'is required'],
      [{ INTERNAL_TOKEN_SECRET: 'short' }, 'must be at least 32 characters'],
    ] as const) {
      try {
        loadConfig(configSchema, env);
        expect.fail('should throw');
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as ConfigError).issues).to.have.length(1);
        expect((err as ConfigError).issues[0]).to.include({ variable: 'INTERNAL_TOKEN_SECRET' });
        expect((err as ConfigError).issues[0]!.message).to.include(message);
      }
    }
  });
});
