import { expect } from 'chai';
import { SignJWT, exportSPKI, generateKeyPair, UnsecuredJWT } from 'jose';
import { PROBLEM_BASE, verifyInternalToken } from '@eventtickets/platform';
import {
  startFakeUpstream,
  TEST_INTERNAL_TOKEN_SECRET,
  waitFor,
  type FakeUpstream,
} from '@eventtickets/platform/testing';
import {
  AUDIENCE,
  ISSUER,
  newSigningKey,
  signToken,
  sleep,
  startGateway,
  startUsersWithJwks,
  type RunningGateway,
  type SigningKey,
} from './helpers.ts';

const CACHE_MS = 300;

describe('gateway/auth: JWT verification against the users JWKS', () => {
  let users: Awaited<ReturnType<typeof startUsersWithJwks>>;
  let catalog: FakeUpstream;
  let orders: FakeUpstream;
  let es: SigningKey;
  let rs: SigningKey;
  let gw: RunningGateway;

  before(async () => {
    es = await newSigningKey('es-1', 'ES256');
    rs = await newSigningKey('rs-1', 'RS256');
    users = await startUsersWithJwks([es, rs]);
    catalog = await startFakeUpstream('catalog');
    orders = await startFakeUpstream('orders');
    gw = await startGateway({
      USERS_URL: users.url,
      CATALOG_URL: catalog.url,
      ORDERS_URL: orders.url,
      JWT_JWKS_CACHE_MS: String(CACHE_MS),
      JWT_JWKS_REQUESTS_PER_MINUTE: '1000',
      JWT_CLOCK_TOLERANCE_S: '0',
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([users, catalog, orders].map((u) => u?.close()));
  });

  const call = (token: string | undefined, path = '/api/orders') =>
    fetch(gw.url + path, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  async function expectRejected(token: string, why: string): Promise<void> {
    const before = orders.seen.length;
    const res = await call(token);
    expect(res.status, why).to.equal(401);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.headers.get('www-authenticate')).to.match(/^Bearer/);
    const body = await res.json();
    expect(body.type, why).to.equal(`${PROBLEM_BASE}invalid-token`);
    expect(orders.seen.length, `${why}: must not reach the service`).to.equal(before);
  }

  it('accepts valid ES256 and RS256 tokens and forwards the identity', async () => {
    for (const key of [es, rs]) {
      const before = orders.seen.length;
      const res = await call(await signToken(key, { sub: `u-${key.alg}`, role: 'buyer' }));
      expect(res.status).to.equal(200);
      const seen = orders.seen[before].headers;
      expect(seen['x-user-id']).to.equal(`u-${key.alg}`);
      expect(
        verifyInternalToken(String(seen['x-internal-token']), TEST_INTERNAL_TOKEN_SECRET, { audience: 'orders' }),
      ).to.include({ sub: `u-${key.alg}`, role: 'buyer', iss: 'gateway' });
    }
  });

  it('asks for a token on a protected route (401 with a Bearer challenge)', async () => {
    const res = await call(undefined);
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.match(/^Bearer/);
    expect((await res.json()).type).to.equal(`${PROBLEM_BASE}unauthorized`);
  });

  it('rejects alg "none"', async () => {
    const token = new UnsecuredJWT({ role: 'admin', email: 'x@example.com' })
      .setSubject('attacker')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .encode();
    await expectRejected(token, 'alg none');
    // the same with a kid of a real key in the header
    const [, payload] = token.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: es.kid, typ: 'JWT' })).toString('base64url');
    await expectRejected(`${header}.${payload}.`, 'alg none with kid');
  });

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    for (const key of [rs, es]) {
      const pem = await exportSPKI(key.publicKey);
      const token = await new SignJWT({ role: 'admin', email: 'x@example.com' })
        .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
        .setSubject('attacker')
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(pem));
      await expectRejected(token, `HS256 with the ${key.alg} public key`);
    }
  });

  it('rejects expired and not-yet-valid tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(await signToken(es, { exp: now - 60 }), 'expired');
    await expectRejected(await signToken(es, { nbf: now + 600 }), 'not yet valid');
  });

  it('rejects a token without exp, even signed by a real key (it would never expire), and ignores it on public routes', async () => {
    for (const key of [es, rs]) {
      const endless = await new SignJWT({ role: 'admin', email: 'x@example.com' })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
        .setSubject('no-expiry')
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .sign(key.privateKey);
      await expectRejected(endless, `no exp (${key.alg})`);
      const res = await call(endless);
      expect((await res.json()).detail).to.equal('The token has no expiry (exp)');
      const before = catalog.seen.length;
      expect((await call(endless, '/api/events')).status).to.equal(200);
      expect(catalog.seen[before].headers).not.to.have.property('x-user-id');
    }
  });

  it('rejects a wrong issuer or audience', async () => {
    await expectRejected(await signToken(es, { iss: 'someone-else' }), 'wrong issuer');
    await expectRejected(await signToken(es, { aud: 'another-api' }), 'wrong audience');
  });

  it('rejects a token signed by a key the JWKS does not have (unknown kid)', async () => {
    const stranger = await newSigningKey('not-published', 'ES256');
    await expectRejected(await signToken(stranger), 'unknown kid');
    // a stranger claiming a real kid fails on the signature
    const impostor = { ...stranger, kid: es.kid };
    await expectRejected(await signToken(impostor), 'forged signature under a real kid');
  });

  it('rejects a tampered payload', async () => {
    const token = await signToken(es, { sub: 'buyer-1', role: 'buyer' });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    claims.role = 'admin';
    await expectRejected(
      `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`,
      'tampered payload',
    );
  });

  it('believes a verified token again only as the very same string, and only until its exp', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(es, { sub: 'cached-buyer', role: 'buyer', exp: now + 8 });
    expect((await call(token)).status).to.equal(200); // verified, now cached
    expect((await call(token)).status).to.equal(200);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    claims.role = 'admin';
    await expectRejected(
      `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`,
      'tampered copy of a cached token',
    );
    // A gateway that keeps keys and verified tokens for a minute still refuses the token once its exp passed.
    const keeping = await startGateway({
      USERS_URL: users.url,
      ORDERS_URL: orders.url,
      JWT_JWKS_CACHE_MS: '60000',
      JWT_VERIFIED_CACHE_MS: '60000',
      JWT_CLOCK_TOLERANCE_S: '0',
    });
    try {
      const viaKeeping = () => fetch(`${keeping.url}/api/orders`, { headers: { authorization: `Bearer ${token}` } });
      const first = (await viaKeeping()).status;
      if (first === 200) {
        await waitFor('the cached token to expire', async () => (await viaKeeping()).status === 401, {
          timeoutMs: 30_000,
        });
      } else expect(first).to.equal(401); // a slow machine: it had expired already
    } finally {
      await keeping.close();
    }
  });

  it('rejects a token without a known role or subject', async () => {
    await expectRejected(await signToken(es, { role: 'superuser' }), 'unknown role');
  });

  it('picks up a new key on its first unknown kid, and stops trusting a deleted key once the cache refreshes', async () => {
    const fresh = await newSigningKey('es-2', 'ES256');
    const token = await signToken(fresh, { sub: 'rotated' });
    await expectRejected(token, 'not yet published');
    users.keys = [...users.keys, fresh];
    expect((await call(token)).status).to.equal(200); // unknown kid → JWKS refetched
    // the users service retires the key; once the cached copy ages out the token is refused
    users.keys = users.keys.filter((k) => k.kid !== fresh.kid);
    await sleep(CACHE_MS + 100);
    await expectRejected(token, 'deleted key');
    expect((await call(await signToken(es))).status).to.equal(200);
  });

  it('ignores a bad token on public routes (the caller is anonymous) but never forwards its claims', async () => {
    const before = catalog.seen.length;
    const res = await call(await signToken(es, { exp: Math.floor(Date.now() / 1000) - 60 }), '/api/events');
    expect(res.status).to.equal(200);
    expect(catalog.seen[before].headers).not.to.have.property('x-user-id');
    expect(catalog.seen[before].headers).not.to.have.property('x-internal-token');
  });

  it('refuses an organizer route to a buyer (403) and lets organizers and admins in', async () => {
    const buyer = await fetch(`${gw.url}/api/events/e1/sales`, {
      headers: { authorization: `Bearer ${await signToken(es, { role: 'buyer' })}` },
    });
    expect(buyer.status).to.equal(403);
    expect((await buyer.json()).type).to.equal(`${PROBLEM_BASE}insufficient-role`);
    const create = await fetch(`${gw.url}/api/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await signToken(es, { role: 'buyer' })}`,
      },
      body: '{}',
    });
    expect(create.status).to.equal(403);
    for (const role of ['organizer', 'admin']) {
      const res = await fetch(`${gw.url}/api/events/e1/sales`, {
        headers: { authorization: `Bearer ${await signToken(es, { role })}` },
      });
      expect(res.status, role).to.equal(200);
    }
  });

  it('refuses the admin routes (users, signing keys) to buyers and organizers (403) and lets admins in', async () => {
    // each with a method the route implements (GET on /api/users/{id}/role is a 405 before any role check)
    const routes: Array<[string, string]> = [
      ['GET', '/api/users'],
      ['PATCH', '/api/users/u1/role'],
      ['GET', '/api/auth/keys'],
    ];
    for (const [method, path] of routes) {
      for (const role of ['buyer', 'organizer']) {
        const res = await fetch(`${gw.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${await signToken(es, { role })}`,
            ...(method === 'PATCH' ? { 'content-type': 'application/json' } : {}),
          },
          body: method === 'PATCH' ? JSON.stringify({ role: 'admin' }) : undefined,
        });
        expect(res.status, `${role} ${path}`).to.equal(403);
        expect((await res.json()).type).to.equal(`${PROBLEM_BASE}insufficient-role`);
      }
    }
    const before = users.seen.length;
    const admin = await fetch(`${gw.url}/api/users`, {
      headers: { authorization: `Bearer ${await signToken(es, { role: 'admin' })}` },
    });
    expect(admin.status).to.equal(200);
    expect(users.seen.slice(before).map((r) => r.url)).to.deep.equal(['/api/users']);
  });

  it('bounds JWKS refetches triggered by unknown kids', async () => {
    const limited = await startGateway({
      USERS_URL: users.url,
      ORDERS_URL: orders.url,
      JWT_JWKS_REQUESTS_PER_MINUTE: '2',
    });
    try {
      const before = users.jwksFetches();
      const { privateKey } = await generateKeyPair('ES256');
      for (let i = 0; i < 6; i++) {
        const token = await new SignJWT({ role: 'buyer' })
          .setProtectedHeader({ alg: 'ES256', kid: `random-${i}` })
          .setSubject('x')
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime('5m')
          .sign(privateKey);
        const res = await fetch(`${limited.url}/api/orders`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).to.equal(401);
      }
      expect(users.jwksFetches() - before).to.be.at.most(2);
    } finally {
      await limited.close();
    }
  });
});
