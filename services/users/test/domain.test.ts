// Pure logic: e-mail normalisation, password hashes, back-off, refresh-token verdicts, profile patches, config.
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { loadConfig, ConfigError } from '@eventtickets/platform';
import { TEST_INTERNAL_TOKEN_SECRET } from '@eventtickets/platform/testing';
import { isPlausibleEmail, normaliseEmail } from '../src/domain/email.ts';
import { createPasswordHasher, parseHash } from '../src/domain/passwords.ts';
import {
  decideLoginAttempt,
  lockSecondsAfter,
  NO_FAILURES,
  retryAfterSeconds,
  type BackoffPolicy,
} from '../src/domain/backoff.ts';
import { clientKeyOf, normaliseClientAddress } from '../src/domain/client-key.ts';
import {
  generateRefreshToken,
  hashRefreshToken,
  isWellFormedRefreshToken,
  judgeRefreshToken,
  openSuccessor,
  sealSuccessor,
} from '../src/domain/refresh-tokens.ts';
import { applyProfilePatch } from '../src/domain/user.ts';
import { configSchema } from '../src/config.ts';

/** JWT_PRIVATE_KEYS holding one freshly generated private key. */
function privateJwks(type: 'ec' | 'rsa', options: { namedCurve?: string; modulusLength?: number }): string {
  const { privateKey } = generateKeyPairSync(type as 'ec', options as { namedCurve: string });
  return JSON.stringify([privateKey.export({ format: 'jwk' })]);
}

describe('users domain', () => {
  it('normalises e-mails (trim, NFC, lower case) and rejects implausible ones', () => {
    expect(normaliseEmail('  Ada.LOVELACE@Example.COM ')).to.equal('ada.lovelace@example.com');
    expect(normaliseEmail('Jose\u0301@example.com')).to.equal('jos\u00e9@example.com');
    expect(isPlausibleEmail('a@b.co')).to.equal(true);
    for (const bad of ['a@b', 'a b@c.de', '@c.de', 'a@.', `${'x'.repeat(250)}@a.de`, 'a\u0000b@c.de', 'a@c.d\u0085e'])
      expect(isPlausibleEmail(bad), bad).to.equal(false);
  });

  describe('password hashes (scrypt)', () => {
    it('stores salt and parameters with the hash; same password, different salts; verifies only the right password', async () => {
      const hasher = await createPasswordHasher({ logN: 11, r: 8, p: 1 });
      const a = await hasher.hash('correct horse battery');
      const b = await hasher.hash('correct horse battery');
      expect(a).to.not.equal(b);
      expect(parseHash(a)).to.deep.include({ params: { logN: 11, r: 8, p: 1 } });
      expect(parseHash(a)!.salt).to.have.length(16);
      expect(await hasher.verify('correct horse battery', a)).to.equal(true);
      expect(await hasher.verify('correct horse batterY', a)).to.equal(false);
      expect(await hasher.verify('correct horse battery', 'garbage')).to.equal(false);
      expect(await hasher.verify('anything', hasher.dummyHash)).to.equal(false);
    });

    it('verifies with the parameters stored in the hash and asks for a rehash when they differ', async () => {
      const old = await createPasswordHasher({ logN: 10, r: 8, p: 1 });
      const current = await createPasswordHasher({ logN: 11, r: 8, p: 1 });
      const stored = await old.hash('long enough password');
      expect(await current.verify('long enough password', stored)).to.equal(true);
      expect(current.needsRehash(stored)).to.equal(true);
      expect(current.needsRehash(await current.hash('x'.repeat(10)))).to.equal(false);
    });

    it('handles the production cost (N=2^15, r=8) within Node scrypt memory limits', async () => {
      const hasher = await createPasswordHasher({ logN: 15, r: 8, p: 1 });
      expect(await hasher.verify('long enough password', await hasher.hash('long enough password'))).to.equal(true);
    });
  });

  it('backs off only from the threshold on, doubling up to the maximum', () => {
    const policy = { maxFailures: 5, baseSeconds: 30, maxSeconds: 300, forgetAfterSeconds: 3600 };
    expect([1, 4, 5, 6, 7, 8, 50].map((n) => lockSecondsAfter(n, policy))).to.deep.equal([0, 0, 30, 60, 120, 240, 300]);
    const now = new Date('2030-01-01T00:00:00Z');
    expect(retryAfterSeconds(null, now)).to.equal(0);
    expect(retryAfterSeconds(new Date('2030-01-01T00:00:10.200Z'), now)).to.equal(11);
    expect(retryAfterSeconds(new Date('2029-12-31T23:59:59Z'), now)).to.equal(0);
  });

  it('decides a login attempt per (account, client) and per account, letting a known client past the account lock', () => {
    const policy: BackoffPolicy = {
      maxFailures: 3,
      baseSeconds: 30,
      maxSeconds: 900,
      forgetAfterSeconds: 3600,
      accountMaxFailures: 10,
      knownClientSeconds: 86_400,
    };
    const now = new Date('2030-01-01T00:00:00Z');
    const ago = (s: number) => new Date(now.getTime() - s * 1000);
    const later = (s: number) => new Date(now.getTime() + s * 1000);
    // Fresh: allowed, counted once on both counters, nothing locked yet.
    expect(decideLoginAttempt(NO_FAILURES, NO_FAILURES, now, policy)).to.deep.equal({
      allowed: true,
      client: { failures: 1, lastFailureAt: now, lockedUntil: null },
      account: { failures: 1, lastFailureAt: now, lockedUntil: null },
    });
    // The client's third failure locks the client for 30 s; the account (at 3 of 10) stays open.
    const third = decideLoginAttempt(
      { ...NO_FAILURES, failures: 2, lastFailureAt: ago(5) },
      { failures: 2, lastFailureAt: ago(5), lockedUntil: null },
      now,
      policy,
    );
    expect(third).to.deep.include({ allowed: true });
    expect(third.allowed && [third.client.lockedUntil, third.account.lockedUntil]).to.deep.equal([later(30), null]);
    // A locked client is refused (and not counted), whatever the account says.
    expect(
      decideLoginAttempt({ ...NO_FAILURES, failures: 3, lockedUntil: later(12) }, NO_FAILURES, now, policy),
    ).to.deep.equal({ allowed: false, scope: 'client', retryAfter: 12 });
    // The tenth failure across clients locks the account.
    const tenth = decideLoginAttempt(
      NO_FAILURES,
      { failures: 9, lastFailureAt: ago(1), lockedUntil: null },
      now,
      policy,
    );
    expect(tenth.allowed && tenth.account.lockedUntil).to.deep.equal(later(30));
    // A locked account refuses a new client but not one that logged in within knownClientSeconds.
    const lockedAccount = { failures: 10, lastFailureAt: ago(1), lockedUntil: later(29) };
    expect(decideLoginAttempt(NO_FAILURES, lockedAccount, now, policy)).to.deep.equal({
      allowed: false,
      scope: 'account',
      retryAfter: 29,
    });
    expect(
      decideLoginAttempt({ ...NO_FAILURES, lastSuccessAt: ago(3600) }, lockedAccount, now, policy),
    ).to.deep.include({ allowed: true });
    expect(
      decideLoginAttempt({ ...NO_FAILURES, lastSuccessAt: ago(2 * 86_400) }, lockedAccount, now, policy),
    ).to.deep.include({ allowed: false, scope: 'account' });
    // Failures older than the forget window restart the count.
    const stale = decideLoginAttempt(
      { ...NO_FAILURES, failures: 7, lastFailureAt: ago(7200) },
      { failures: 50, lastFailureAt: ago(7200), lockedUntil: ago(3600) },
      now,
      policy,
    );
    expect(stale.allowed && [stale.client.failures, stale.account.failures]).to.deep.equal([1, 1]);
  });

  it("keys a login's client by the gateway's X-Forwarded-For entry (IPv6 by /64), never by what the client wrote", () => {
    expect(clientKeyOf('203.0.113.7', '::ffff:10.0.0.5', 0)).to.equal('203.0.113.7');
    expect(clientKeyOf('1.1.1.1, 6.6.6.6, 203.0.113.7', undefined, 0)).to.equal('203.0.113.7');
    expect(clientKeyOf('1.1.1.1, 203.0.113.7, 10.0.0.2', undefined, 1)).to.equal('203.0.113.7'); // behind an ingress
    expect(clientKeyOf('203.0.113.7', undefined, 2)).to.equal('203.0.113.7'); // fewer entries: the gateway's own
    expect(clientKeyOf(undefined, '::ffff:127.0.0.1', 0)).to.equal('127.0.0.1');
    expect(clientKeyOf('', undefined, 0)).to.equal('unknown');
    expect(normaliseClientAddress('2001:DB8:0:1:aaaa:bbbb:cccc:dddd')).to.equal('2001:db8:0:1::/64');
    expect(normaliseClientAddress('2001:db8::1')).to.equal('2001:db8:0:0::/64');
    expect(normaliseClientAddress('[2001:db8:1:2::7]')).to.equal('2001:db8:1:2::/64');
    expect(normaliseClientAddress('fe80::1%eth0')).to.equal('fe80:0:0:0::/64');
    expect(normaliseClientAddress('::1')).to.equal('0:0:0:0::/64');
    expect(normaliseClientAddress('64:ff9b::192.0.2.1')).to.equal('64:ff9b:0:0::/64');
  });

  it('seals a successor so that only the rotated token opens it', () => {
    const presented = generateRefreshToken();
    const successor = generateRefreshToken();
    const sealed = sealSuccessor(presented, successor);
    expect(openSuccessor(presented, sealed)).to.equal(successor);
    expect(sealed.toString('latin1')).to.not.include(successor);
    expect(openSuccessor(generateRefreshToken(), sealed)).to.equal(undefined);
    const altered = Buffer.from(sealed);
    altered[20] = altered[20]! ^ 1;
    expect(openSuccessor(presented, altered)).to.equal(undefined);
    expect(openSuccessor(presented, Buffer.alloc(10))).to.equal(undefined);
  });

  it('makes 256-bit refresh tokens and judges presented ones', () => {
    const token = generateRefreshToken();
    expect(isWellFormedRefreshToken(token)).to.equal(true);
    expect(Buffer.from(token, 'base64url')).to.have.length(32);
    expect(hashRefreshToken(token)).to.have.length(32);
    expect(isWellFormedRefreshToken('short')).to.equal(false);
    const now = new Date('2030-01-01T00:00:00Z');
    const future = new Date('2030-02-01T00:00:00Z');
    expect(judgeRefreshToken(undefined, now)).to.equal('unknown');
    expect(judgeRefreshToken({ expiresAt: future, rotatedAt: null, revokedAt: null }, now)).to.equal('valid');
    expect(judgeRefreshToken({ expiresAt: now, rotatedAt: null, revokedAt: null }, now)).to.equal('expired');
    expect(judgeRefreshToken({ expiresAt: future, rotatedAt: now, revokedAt: null }, now)).to.equal('reused');
    expect(judgeRefreshToken({ expiresAt: future, rotatedAt: now, revokedAt: now }, now)).to.equal('revoked');
  });

  it('applies profile patches, merging preferences and refusing SMS without a phone', () => {
    const user = { name: 'A', phone: null, notificationPrefs: { email: true, sms: false } };
    expect(applyProfilePatch(user, { name: ' B ', notificationPrefs: { email: false } })).to.deep.equal({
      name: 'B',
      phone: null,
      notificationPrefs: { email: false, sms: false },
    });
    expect(applyProfilePatch(user, { notificationPrefs: { sms: true } })).to.deep.equal({
      error: 'phone-required-for-sms',
    });
    expect(applyProfilePatch(user, { phone: '+15551234567', notificationPrefs: { sms: true } })).to.deep.equal({
      name: 'A',
      phone: '+15551234567',
      notificationPrefs: { email: true, sms: true },
    });
  });

  describe('config', () => {
    const base = {
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/users',
      REDIS_URL: 'redis://127.0.0.1:6379',
      INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    };
    it('applies the documented defaults', () => {
      const c = loadConfig(configSchema, base);
      expect(c).to.include({
        PORT: 8081,
        JWT_ISSUER: 'eventtickets',
        JWT_AUDIENCE: 'eventtickets-api',
        ACCESS_TOKEN_TTL_SECONDS: 900,
        REFRESH_TOKEN_TTL_DAYS: 30,
        REDIS_PREFIX: 'et:',
        LOGIN_MAX_FAILURES: 5,
        LOGIN_ACCOUNT_MAX_FAILURES: 100,
        LOGIN_KNOWN_CLIENT_DAYS: 30,
        TRUSTED_PROXY_HOPS: 0,
      });
      expect(c.DEMO_PASSWORD).to.equal(undefined);
      expect(c.JWT_PRIVATE_KEYS).to.equal(undefined);
    });
    const bad: Array<[string, Record<string, string>, string]> = [
      ['a missing DATABASE_URL', { REDIS_URL: base.REDIS_URL }, 'DATABASE_URL'],
      ['a short DEMO_PASSWORD', { ...base, DEMO_PASSWORD: 'short' }, 'DEMO_PASSWORD'],
      ['JWT_PRIVATE_KEYS that is not JSON', { ...base, JWT_PRIVATE_KEYS: 'nope' }, 'JWT_PRIVATE_KEYS'],
      [
        'JWT_PRIVATE_KEYS with a public key only',
        { ...base, JWT_PRIVATE_KEYS: '[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]' },
        'JWT_PRIVATE_KEYS',
      ],
      [
        'no event transport',
        { DATABASE_URL: base.DATABASE_URL, INTERNAL_TOKEN_SECRET: base.INTERNAL_TOKEN_SECRET },
        'REDIS_URL',
      ],
      ['no INTERNAL_TOKEN_SECRET', { ...base, INTERNAL_TOKEN_SECRET: '' }, 'INTERNAL_TOKEN_SECRET'],
      ['a short INTERNAL_TOKEN_SECRET', { ...base, INTERNAL_TOKEN_SECRET: 'x'.repeat(31) }, 'INTERNAL_TOKEN_SECRET'],
      ['a non-numeric TTL', { ...base, ACCESS_TOKEN_TTL_SECONDS: 'soon' }, 'ACCESS_TOKEN_TTL_SECONDS'],
      [
        'a failure memory no longer than the longest lock',
        { ...base, LOGIN_BACKOFF_MAX_SECONDS: '900', LOGIN_FAILURES_FORGET_AFTER_SECONDS: '900' },
        'LOGIN_FAILURES_FORGET_AFTER_SECONDS',
      ],
      [
        'an account-wide login limit not above the per-client one',
        { ...base, LOGIN_MAX_FAILURES: '10', LOGIN_ACCOUNT_MAX_FAILURES: '10' },
        'LOGIN_ACCOUNT_MAX_FAILURES',
      ],
      ['a negative TRUSTED_PROXY_HOPS', { ...base, TRUSTED_PROXY_HOPS: '-1' }, 'TRUSTED_PROXY_HOPS'],
      // Keys that pass the shape check but could never sign ES256/RS256 (each used to start, then 500 every login).
      [
        'JWT_PRIVATE_KEYS with an EC P-384 key',
        { ...base, JWT_PRIVATE_KEYS: privateJwks('ec', { namedCurve: 'P-384' }) },
        'JWT_PRIVATE_KEYS',
      ],
      [
        'JWT_PRIVATE_KEYS with a 1024-bit RSA key',
        { ...base, JWT_PRIVATE_KEYS: privateJwks('rsa', { modulusLength: 1024 }) },
        'JWT_PRIVATE_KEYS',
      ],
      [
        'JWT_PRIVATE_KEYS with a truncated RSA key',
        { ...base, JWT_PRIVATE_KEYS: '[{"kty":"RSA","d":"abc"}]' },
        'JWT_PRIVATE_KEYS',
      ],
    ];
    it('accepts usable JWT_PRIVATE_KEYS (EC P-256 and RSA 2048)', () => {
      const keys = `[${privateJwks('ec', { namedCurve: 'P-256' }).slice(1, -1)},${privateJwks('rsa', { modulusLength: 2048 }).slice(1, -1)}]`;
      expect(
        loadConfig(configSchema, { ...base, JWT_PRIVATE_KEYS: keys }).JWT_PRIVATE_KEYS!.map((k) => k.kty),
      ).to.deep.equal(['EC', 'RSA']);
    });
    for (const [what, env, variable] of bad) {
      it(`fails fast on ${what}, naming ${variable}`, () => {
        let error: unknown;
        try {
          loadConfig(configSchema, env);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).issues.map((i) => i.variable)).to.include(variable);
      });
    }
  });
});
