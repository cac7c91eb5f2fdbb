// Service-to-service identity: the internal token (HS256 JWT) on its own, the identity middleware every service
// runs (createServiceApp), requireService for /internal routes, the inter-service client signing its calls,
// and the test kit's contract client signing with the suite's secret.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import Router from '@koa/router';
import { createServiceApp, listen, type RunningServer } from '../src/http.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { PROBLEM_BASE } from '../src/errors.ts';
import Koa from 'koa';
import { identityMiddleware, requireIdentity, requireService, requireRole } from '../src/auth.ts';
import { errorMiddleware } from '../src/errors.ts';
import { createServiceClient } from '../src/client.ts';
import { internalTokenConfigFields, loadConfig, ConfigError, z } from '../src/config.ts';
import {
  createInternalTokenSigner,
  INTERNAL_TOKEN_HEADER,
  InternalTokenError,
  signInternalToken,
  verifyInternalToken,
} from '../src/internal-token.ts';
import { TEST_INTERNAL_TOKEN_SECRET, internalHeaders } from '../src/testing/contract-client.ts';

const SECRET = TEST_INTERNAL_TOKEN_SECRET;
const OTHER_SECRET = 'another-stack-secret-0123456789abcdef-xyz';
const now = () => Math.floor(Date.now() / 1000);
const admin = { userId: 'u-admin', role: 'admin' as const, email: 'root@example.com' };
const buyer = { userId: 'u-buyer', role: 'buyer' as const };

function failure(fn: () => unknown): InternalTokenError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InternalTokenError);
    return err as InternalTokenError;
  }
  throw new Error('expected the token to be refused');
}

/** An HS256 JWT with any header and claims (what an attacker who knows the format could build). */
function handMade(header: object, claims: object, secret = SECRET): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('platform/internal-token: the token', () => {
  const signer = createInternalTokenSigner({ secret: SECRET, issuer: 'gateway' });

  it('carries sub, role, email, iss, aud, iat and a 60 s exp, and verifies for its audience', () => {
    const claims = verifyInternalToken(signer.forUser(admin, 'users'), SECRET, { audience: 'users' });
    expect(claims).to.include({
      sub: 'u-admin',
      role: 'admin',
      email: 'root@example.com',
      iss: 'gateway',
      aud: 'users',
    });
    expect(claims.exp - claims.iat).to.equal(60);
    expect(Math.abs(claims.iat - now())).to.be.at.most(2);
    const svc = verifyInternalToken(
      createInternalTokenSigner({ secret: SECRET, issuer: 'orders' }).forService('inventory'),
      SECRET,
      {
        audience: 'inventory',
      },
    );
    expect(svc).to.deep.equal({ sub: 'svc:orders', iss: 'orders', aud: 'inventory', iat: svc.iat, exp: svc.iat + 60 });
  });

  it('refuses an expired token, one for another audience, one signed with another secret, and a tampered one', () => {
    const old = signInternalToken(SECRET, { sub: 'u1', role: 'buyer', iss: 'gateway', aud: 'users', iat: now() - 120 });
    expect(failure(() => verifyInternalToken(old, SECRET, { audience: 'users' })).reason).to.equal('expired');
    const forCatalog = signer.forUser(admin, 'catalog');
    expect(failure(() => verifyInternalToken(forCatalog, SECRET, { audience: 'users' })).reason).to.equal('audience');
    const foreign = createInternalTokenSigner({ secret: OTHER_SECRET, issuer: 'gateway' }).forUser(admin, 'users');
    expect(failure(() => verifyInternalToken(foreign, SECRET, { audience: 'users' })).reason).to.equal('signature');
    // a buyer's token turned into an admin's: the signature no longer matches
    const [h, p, s] = signer.forUser(buyer, 'users').split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const promoted = `${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${s}`;
    expect(failure(() => verifyInternalToken(promoted, SECRET, { audience: 'users' })).reason).to.equal('signature');
  });

  it('accepts HS256 only, bounded lifetimes, no future iat, and svc:<issuer> subjects without a role', () => {
    const base = { sub: 'u1', role: 'admin', iss: 'gateway', aud: 'users', iat: now(), exp: now() + 60 };
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(base)).toString('base64url')}.`;
    expect(failure(() => verifyInternalToken(none, SECRET, { audience: 'users' })).reason).to.equal('malformed');
    const hs512 = handMade({ alg: 'HS512', typ: 'JWT' }, base);
    expect(failure(() => verifyInternalToken(hs512, SECRET, { audience: 'users' })).reason).to.equal('malformed');
    const header = { alg: 'HS256', typ: 'JWT' };
    const cases: Array<[object, string]> = [
      [{ ...base, exp: base.iat + 3600 }, 'claims'],
      [{ ...base, iat: now() + 120, exp: now() + 180 }, 'not-yet-valid'],
      [{ ...base, role: 'root' }, 'claims'],
      [{ ...base, role: undefined }, 'claims'],
      [{ ...base, sub: 'svc:orders', role: undefined }, 'claims'], // svc subject must be its issuer
      [{ ...base, sub: 'svc:gateway' }, 'claims'], // a service subject carries no role
      [{ ...base, aud: ['users'] }, 'claims'],
    ];
    for (const [claims, reason] of cases)
      expect(
        failure(() => verifyInternalToken(handMade(header, claims), SECRET, { audience: 'users' })).reason,
        JSON.stringify(claims),
      ).to.equal(reason);
    expect(failure(() => verifyInternalToken('a.b', SECRET, { audience: 'users' })).reason).to.equal('malformed');
  });

  it('reuses a signed token per identity and audience only when asked, and never past half its life', () => {
    let clock = 1_000_000;
    const cached = createInternalTokenSigner({ secret: SECRET, issuer: 'gateway', reuseS: 5, now: () => clock });
    const first = cached.forUser(buyer, 'inventory');
    expect(cached.forUser(buyer, 'inventory')).to.equal(first);
    expect(cached.forUser(buyer, 'catalog')).not.to.equal(first);
    expect(cached.forUser({ ...buyer, role: 'organizer' }, 'inventory')).not.to.equal(first);
    clock += 5;
    expect(cached.forUser(buyer, 'inventory')).not.to.equal(first);
    expect(() => createInternalTokenSigner({ secret: 'too-short', issuer: 'gateway' })).to.throw(/32 characters/);
  });

  it('INTERNAL_TOKEN_SECRET is required and at least 32 characters; the value is never echoed', () => {
    const schema = z.object({ ...internalTokenConfigFields });
    expect(loadConfig(schema, { INTERNAL_TOKEN_SECRET: SECRET }).INTERNAL_TOKEN_SECRET).to.equal(SECRET);
    for (const [env, message] of [
      [{}, 'is required'],
      [{ INTERNAL_TOKEN_SECRET: 'hunter2-hunter2' }, 'must be at least 32 characters'],
    ] as const) {
      try {
        loadConfig(schema, env);
        expect.fail('should throw');
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as ConfigError).issues[0]!.variable).to.equal('INTERNAL_TOKEN_SECRET');
        expect((err as ConfigError).issues[0]!.message).to.include(message);
        expect((err as Error).message).not.to.include('hunter2');
      }
    }
  });
});

describe('platform/internal-token: a service trusts only signed callers', () => {
  let server: RunningServer;
  let bare: RunningServer;

  before(async () => {
    const app = createServiceApp({
      service: 'users',
      logger: createLogger('users', { level: 'silent' }),
      metrics: createMetrics('users', { collectDefault: false }),
      internalTokenSecret: SECRET,
    });
    const router = new Router();
    router.get('/api/whoami', (ctx) => {
      ctx.body = { identity: ctx.state.identity ?? null, caller: ctx.state.caller ?? null };
    });
    router.get('/api/users', (ctx) => {
      ctx.body = { admin: requireRole(ctx, 'admin').userId };
    });
    router.post('/api/me', (ctx) => {
      ctx.body = { me: requireIdentity(ctx).userId, body: ctx.request.body };
    });
    router.get('/internal/things', (ctx) => {
      ctx.body = { service: requireService(ctx, 'orders') };
    });
    app.use(router.routes()).use(router.allowedMethods());
    server = await listen(app.callback(), 0);
    // a service built without the secret: it can never be told who is calling
    const noSecret = createServiceApp({
      service: 'users',
      logger: createLogger('users', { level: 'silent' }),
      metrics: createMetrics('users', { collectDefault: false }),
    });
    noSecret.use(router.routes());
    bare = await listen(noSecret.callback(), 0);
  });
  after(async () => {
    await server?.close(100);
    await bare?.close(100);
  });

  const get = (path: string, headers: Record<string, string> = {}, base = server.url) =>
    fetch(base + path, { headers });
  async function expectRefused(res: Response, status = 401, slug = 'invalid-internal-token'): Promise<any> {
    expect(res.status).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    const body = await res.json();
    expect(body.type).to.equal(PROBLEM_BASE + slug);
    return body;
  }
  const forged = { 'x-user-id': 'mallory', 'x-user-role': 'admin', 'x-user-email': 'root@example.com' };

  it('refuses x-user-role: admin sent without a token (the loopback attack), before reading the body', async () => {
    await expectRefused(await get('/api/users', forged));
    await expectRefused(await get('/api/whoami', { 'x-user-role': 'admin' }));
    const post = await fetch(`${server.url}/api/me`, {
      method: 'POST',
      headers: { ...forged, 'content-type': 'application/json' },
      body: '{not json',
    });
    await expectRefused(post); // not a 400 malformed-json: who you are is settled first
  });

  it('refuses forged identity headers with a forged, expired, misaddressed or foreign token', async () => {
    const gateway = createInternalTokenSigner({ secret: SECRET, issuer: 'gateway' });
    const tokens = {
      garbage: 'not-a-token',
      expired: signInternalToken(SECRET, {
        sub: 'mallory',
        role: 'admin',
        iss: 'gateway',
        aud: 'users',
        iat: now() - 300,
      }),
      otherAudience: gateway.forUser({ userId: 'mallory', role: 'admin' }, 'catalog'),
      otherSecret: createInternalTokenSigner({ secret: OTHER_SECRET, issuer: 'gateway' }).forUser(
        { userId: 'mallory', role: 'admin' },
        'users',
      ),
    };
    const details: Record<string, string> = {};
    for (const [what, token] of Object.entries(tokens)) {
      const body = await expectRefused(await get('/api/users', { ...forged, [INTERNAL_TOKEN_HEADER]: token }));
      details[what] = body.detail;
    }
    expect(details.expired).to.match(/expired/);
    expect(details.otherAudience).to.match(/for catalog, not users/);
    expect(details.otherSecret).to.match(/signature/);
  });

  it('refuses identity headers that disagree with a valid token (a buyer claiming admin)', async () => {
    const headers = internalHeaders('users', buyer);
    await expectRefused(await get('/api/users', { ...headers, 'x-user-role': 'admin' }));
    await expectRefused(await get('/api/users', { ...headers, 'x-user-id': 'someone-else' }));
    await expectRefused(await get('/api/users', { ...internalHeaders('users', { service: 'orders' }), ...forged }));
  });

  it('accepts what the gateway forwards: the token alone, or with the identity headers it proves', async () => {
    const signed = internalHeaders('users', admin);
    expect(Object.keys(signed).sort()).to.deep.equal([
      INTERNAL_TOKEN_HEADER,
      'x-user-email',
      'x-user-id',
      'x-user-role',
    ]);
    const res = await get('/api/whoami', signed);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({
      identity: admin,
      caller: { kind: 'user', subject: 'u-admin', issuer: 'gateway', identity: admin },
    });
    const tokenOnly = await get('/api/users', { [INTERNAL_TOKEN_HEADER]: signed[INTERNAL_TOKEN_HEADER]! });
    expect([tokenOnly.status, await tokenOnly.json()]).to.deep.equal([200, { admin: 'u-admin' }]);
  });

  it('anonymous requests stay anonymous; probes, metrics and the contract stay open to anyone', async () => {
    expect(await (await get('/api/whoami')).json()).to.deep.equal({ identity: null, caller: null });
    await expectRefused(await get('/api/users'), 401, 'unauthorized');
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await get(path)).status, path).to.equal(200);
      expect((await get(path, forged)).status, `${path} with forged headers`).to.equal(200);
    }
  });

  it('internal routes: svc:orders is accepted; a user token, another service or no token are refused', async () => {
    const ok = await get('/internal/things', internalHeaders('users', { service: 'orders' }));
    expect([ok.status, await ok.json()]).to.deep.equal([200, { service: 'orders' }]);
    await expectRefused(await get('/internal/things', internalHeaders('users', admin)), 403, 'service-only');
    await expectRefused(
      await get('/internal/things', internalHeaders('users', { service: 'payments' })),
      403,
      'service-only',
    );
    await expectRefused(await get('/internal/things'), 401, 'unauthorized');
  });

  it('a service given no secret accepts no identity at all', async () => {
    await expectRefused(await get('/api/users', internalHeaders('users', admin), bare.url));
    expect(await (await get('/api/whoami', {}, bare.url)).json()).to.deep.equal({ identity: null, caller: null });
  });

  it('the inter-service client signs as the service, or for the user it acts for, per attempt', async () => {
    const client = createServiceClient({
      name: 'users',
      baseUrl: server.url,
      internalToken: { secret: SECRET, issuer: 'orders' },
    });
    const asService = await client.request<any>('GET', '/internal/things');
    expect(asService.body).to.deep.equal({ service: 'orders' });
    const forUser = await client.request<any>('GET', '/api/whoami', { as: buyer });
    expect(forUser.body.caller).to.deep.equal({ kind: 'user', subject: 'u-buyer', issuer: 'orders', identity: buyer });
    const unsigned = createServiceClient({ name: 'users', baseUrl: server.url, retries: 0 });
    expect((await unsigned.request<any>('GET', '/api/whoami')).body).to.deep.equal({ identity: null, caller: null });
    let thrown: unknown;
    try {
      await unsigned.request('GET', '/api/whoami', { as: buyer });
    } catch (err) {
      thrown = err;
    }
    expect(String(thrown)).to.match(/needs internalToken/);
  });
});

describe('platform/internal-token: a token verified once is remembered, never past its own time', () => {
  let server: RunningServer;
  let clock = now();

  before(async () => {
    const app = new Koa();
    app.use(errorMiddleware(createLogger('users', { level: 'silent' })));
    app.use(identityMiddleware({ audience: 'users', secret: SECRET, now: () => clock }));
    app.use((ctx) => {
      ctx.body = { identity: ctx.state.identity ?? null };
    });
    server = await listen(app.callback(), 0);
  });
  after(async () => {
    await server?.close(100);
  });

  const call = async (token: string) => {
    const res = await fetch(`${server.url}/api/whoami`, { headers: { [INTERNAL_TOKEN_HEADER]: token } });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('accepts the same token again within its life and refuses it once expired, as a first use would', async () => {
    const issued = clock;
    const token = signInternalToken(SECRET, { sub: 'u-1', role: 'buyer', iss: 'gateway', aud: 'users', iat: issued });
    expect(await call(token)).to.deep.equal({ status: 200, body: { identity: { userId: 'u-1', role: 'buyer' } } });
    clock = issued + 60 + 4; // exp 60 s, 5 s of clock tolerance: still valid
    expect((await call(token)).status).to.equal(200);
    clock = issued + 60 + 5;
    const expired = await call(token);
    expect(expired.status).to.equal(401);
    expect(expired.body.detail).to.match(/expired/);
    // a clock set back before its iat (beyond the tolerance) refuses it too, remembered or not
    clock = issued;
    expect((await call(token)).status).to.equal(200);
    clock = issued - 6;
    expect((await call(token)).body.detail).to.match(/issued in the future/);
    clock = now();
  });

  it('remembers only the exact string that verified: the same claims with another signature are refused', async () => {
    const token = signInternalToken(SECRET, { sub: 'u-2', role: 'buyer', iss: 'gateway', aud: 'users', iat: clock });
    expect((await call(token)).status).to.equal(200);
    const [h, p] = token.split('.');
    const forged = `${h}.${p}.${createHmac('sha256', OTHER_SECRET).update(`${h}.${p}`).digest('base64url')}`;
    expect((await call(forged)).body.detail).to.match(/signature/);
  });
});
