// Access tokens and the JWKS: tokens verify with jose against the served key set (local and remote),
// rotation keeps old tokens valid until their key is removed, and env-provided keys work the same way.
import { expect } from 'chai';
import { createLocalJWKSet, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { createDatabase } from '@eventtickets/platform';
import { envKeyStore } from '../src/use-cases/signing-keys.ts';
import { makeAdmin, registerUser, startUsers, type Identity, type UsersHarness } from './helpers.ts';

const verifyOptions = { issuer: 'eventtickets', audience: 'eventtickets-api', algorithms: ['ES256', 'RS256'] };

describe('users: signing keys and JWKS (real Postgres)', function () {
  describe('keys in the database', () => {
    let h: UsersHarness;
    let admin: Identity;
    before(async function () {
      h = await startUsers(this);
      admin = await makeAdmin(h);
    });
    after(async () => {
      await h?.close();
    });

    const jwks = async (path = '/api/auth/jwks.json') => {
      const res = await h.call('GET', path);
      expect(res.status).to.equal(200);
      return res.body as { keys: JWK[] };
    };

    it('serves the same public key set at /api/auth/jwks.json and /.well-known/jwks.json, without private parts', async () => {
      const a = await jwks();
      const b = await jwks('/.well-known/jwks.json');
      expect(a).to.deep.equal(b);
      expect(a.keys).to.have.length(1);
      expect(a.keys[0]).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(a.keys[0]).to.not.have.property('d');
      const [rows] = await h.db.query('SELECT private_jwk FROM signing_keys');
      expect((rows[0] as any).private_jwk).to.have.property('d'); // persisted so restarts and replicas share it
    });

    it('issues access tokens that jose verifies against the served JWKS (local set and remote URL)', async () => {
      const session = await registerUser(h);
      const local = await jwtVerify(session.accessToken, createLocalJWKSet(await jwks()), verifyOptions);
      expect(local.payload).to.include({ sub: session.user.id, role: 'buyer', email: session.user.email });
      expect(local.payload.exp! - local.payload.iat!).to.equal(900);
      expect(local.protectedHeader.kid).to.equal((await jwks()).keys[0]!.kid);
      const remote = await jwtVerify(
        session.accessToken,
        createRemoteJWKSet(new URL(`${h.url}/.well-known/jwks.json`)),
        verifyOptions,
      );
      expect(remote.payload.jti).to.equal(local.payload.jti);
    });

    it('rejects a token whose payload was tampered with, or checked against another audience', async () => {
      const session = await registerUser(h);
      const [header, payload, signature] = session.accessToken.split('.');
      const forged = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' }),
      ).toString('base64url');
      const set = createLocalJWKSet(await jwks());
      let error: unknown;
      await jwtVerify(`${header}.${forged}.${signature}`, set, verifyOptions).catch((e) => {
        error = e;
      });
      expect((error as { code?: string })?.code).to.equal('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      error = undefined;
      await jwtVerify(session.accessToken, set, { ...verifyOptions, audience: 'someone-else' }).catch((e) => {
        error = e;
      });
      expect((error as { code?: string })?.code).to.equal('ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('rotates: new tokens use the new key, tokens of the rotated-out key verify until that key is removed', async () => {
      const before = await registerUser(h);
      const oldKid = (await jwks()).keys[0]!.kid!;

      const rotated = await h.call('POST', '/api/auth/keys/rotate', { identity: admin });
      expect(rotated.status).to.equal(201);
      expect(rotated.body).to.include({ status: 'signing', alg: 'ES256' });
      const newKid = rotated.body.kid as string;
      expect(newKid).to.not.equal(oldKid);

      const published = await jwks();
      expect(published.keys.map((k) => k.kid)).to.deep.equal([newKid, oldKid]); // signing key first
      const listed = await h.call('GET', '/api/auth/keys', { identity: admin });
      expect(listed.body.keys.map((k: any) => [k.kid, k.status])).to.deep.equal([
        [newKid, 'signing'],
        [oldKid, 'previous'],
      ]);

      // Nobody is logged out: the old token still verifies, and a refresh gets a token from the new key.
      await jwtVerify(before.accessToken, createLocalJWKSet(published), verifyOptions);
      const refreshed = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: before.refreshToken } });
      const fresh = await jwtVerify(refreshed.body.accessToken, createLocalJWKSet(published), verifyOptions);
      expect(fresh.protectedHeader.kid).to.equal(newKid);

      // The signing key cannot be removed.
      const refused = await h.call('DELETE', `/api/auth/keys/${newKid}`, { identity: admin });
      expect(refused.status).to.equal(409);
      expect(refused.body.type).to.match(/\/key-in-use$/);
      // The previous one signed tokens that have not expired: removing it needs force, and says what it ends.
      const [liveRows] = await h.db.query(
        'SELECT count(*)::int AS tokens, count(DISTINCT family_id)::int AS sessions FROM access_token_issues WHERE kid = :kid AND expires_at > now()',
        { replacements: { kid: oldKid } },
      );
      const live = { accessTokens: (liveRows[0] as any).tokens, sessions: (liveRows[0] as any).sessions };
      expect(live.accessTokens).to.be.at.least(1); // before's token at least
      const unforced = await h.call('DELETE', `/api/auth/keys/${oldKid}`, { identity: admin });
      expect(unforced.status).to.equal(409);
      expect(unforced.body.type).to.match(/\/key-signed-live-tokens$/);
      expect(unforced.body).to.include({ kid: oldKid, ...live });
      expect(unforced.body.detail).to.include(`${live.accessTokens} access token(s) of ${live.sessions} session(s)`);
      expect((await jwks()).keys.map((k) => k.kid)).to.include(oldKid); // nothing removed
      const forced = await h.call('DELETE', `/api/auth/keys/${oldKid}?force=true`, { identity: admin });
      expect(forced.status).to.equal(200);
      expect(forced.body).to.deep.equal({ kid: oldKid, ...live });
      expect((await h.call('DELETE', `/api/auth/keys/${oldKid}`, { identity: admin })).status).to.equal(404);
      const after = await jwks();
      expect(after.keys.map((k) => k.kid)).to.deep.equal([newKid]);
      let error: unknown;
      await jwtVerify(before.accessToken, createLocalJWKSet(after), verifyOptions).catch((e) => {
        error = e;
      });
      expect((error as { code?: string })?.code).to.equal('ERR_JWKS_NO_MATCHING_KEY');
      await jwtVerify(refreshed.body.accessToken, createLocalJWKSet(after), verifyOptions);
    });

    it('removes a previous key without force once every token it signed has expired, ending nothing', async () => {
      await registerUser(h); // a token from the current signing key
      const oldKid = (await jwks()).keys[0]!.kid!;
      expect((await h.call('POST', '/api/auth/keys/rotate', { identity: admin })).status).to.equal(201);
      // Its tokens' lifetime over (moved into the past rather than waited for).
      await h.db.query("UPDATE access_token_issues SET expires_at = now() - interval '1 second' WHERE kid = :kid", {
        replacements: { kid: oldKid },
      });
      const removed = await h.call('DELETE', `/api/auth/keys/${oldKid}`, { identity: admin });
      expect(removed.status).to.equal(200);
      expect(removed.body).to.deep.equal({ kid: oldKid, accessTokens: 0, sessions: 0 });
    });

    it('rejects a force that is not a boolean (400) and removes nothing', async () => {
      const kid = (await jwks()).keys[0]!.kid!;
      const res = await h.call('DELETE', `/api/auth/keys/${kid}?force=yes`, { identity: admin });
      expect(res.status).to.equal(400);
      expect((await jwks()).keys.map((k) => k.kid)).to.include(kid);
    });

    it('rotations at the same moment all succeed and leave exactly one signing key, every key still published', async () => {
      const before = (await jwks()).keys.map((k) => k.kid);
      // Line them up deterministically: hold the signing key's row (from a connection outside the app's pool)
      // until all four rotations wait on a lock, then let them go at once.
      const side = createDatabase(h.dbUrl, { poolMax: 2 });
      const blocker = await side.transaction();
      await side.query("SELECT kid FROM signing_keys WHERE status = 'signing' FOR UPDATE", { transaction: blocker });
      const pending = Promise.all([0, 1, 2, 3].map(() => h.call('POST', '/api/auth/keys/rotate', { identity: admin })));
      const waiting = async () => {
        const [rows] = await side.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        return (rows[0] as { n: number }).n;
      };
      while ((await waiting()) < 4) await new Promise((r) => setTimeout(r, 20));
      await blocker.commit();
      await side.close();
      const results = await pending;
      expect(results.map((r) => r.status)).to.deep.equal([201, 201, 201, 201]);
      const listed = await h.call('GET', '/api/auth/keys', { identity: admin });
      expect(listed.body.keys.filter((k: any) => k.status === 'signing')).to.have.length(1);
      const published = (await jwks()).keys.map((k) => k.kid);
      expect(published).to.have.length(before.length + 4);
      expect(published).to.include.members([...before, ...results.map((r) => r.body.kid)]);
    });

    it('key management is admin-only', async () => {
      const buyer = await registerUser(h);
      const before = await h.counts();
      const asBuyer = await h.call('POST', '/api/auth/keys/rotate', {
        identity: { userId: buyer.user.id, role: 'buyer' },
      });
      expect(asBuyer.status).to.equal(403);
      const anonymous = await h.call('GET', '/api/auth/keys');
      expect(anonymous.status).to.equal(401);
      expect(await h.counts()).to.deep.equal(before);
    });
  });

  describe('keys from JWT_PRIVATE_KEYS', () => {
    let h: UsersHarness;
    let ecJwk: JWK;
    let rsaJwk: JWK;
    before(async function () {
      ecJwk = {
        ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
        kid: 'env-ec-1',
      };
      rsaJwk = await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey);
      // Through the configuration, as a deployment gives them.
      h = await startUsers(this, { env: { JWT_PRIVATE_KEYS: JSON.stringify([ecJwk, rsaJwk]) } });
    });
    after(async () => {
      await h?.close();
    });

    it('signs with the first key and publishes both (the second as a previous key)', async () => {
      const { body } = await h.call('GET', '/.well-known/jwks.json');
      expect(body.keys.map((k: JWK) => [k.kid === 'env-ec-1', k.alg])).to.deep.equal([
        [true, 'ES256'],
        [false, 'RS256'],
      ]);
      expect(body.keys[1].kid).to.be.a('string').with.length.greaterThan(20); // RFC 7638 thumbprint when no kid is given
      for (const k of body.keys) expect(k).to.not.have.any.keys('d', 'p', 'q', 'dp', 'dq', 'qi');
      const session = await registerUser(h);
      const { protectedHeader } = await jwtVerify(session.accessToken, createLocalJWKSet(body), verifyOptions);
      expect(protectedHeader).to.include({ kid: 'env-ec-1', alg: 'ES256' });
      const [rows] = await h.db.query('SELECT count(*)::int AS n FROM signing_keys');
      expect((rows[0] as any).n).to.equal(0);
    });

    it('refuses rotation through the API (409 keys-managed-by-env)', async () => {
      const admin = await makeAdmin(h);
      const res = await h.call('POST', '/api/auth/keys/rotate', { identity: admin });
      expect(res.status).to.equal(409);
      expect(res.body.type).to.match(/\/keys-managed-by-env$/);
    });

    it('fails fast on a key that cannot sign ES256/RS256', async () => {
      let error: unknown;
      await envKeyStore([{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b', d: 'c' }]).catch((e) => {
        error = e;
      });
      expect(String(error)).to.match(/unsupported signing key/);
    });
  });
});
