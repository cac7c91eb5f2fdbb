// Access-token signing keys. Either persisted in the users database (one signing key plus rotated-out
// "previous" keys that stay published until removed, so rotation logs nobody out) or fixed by
// JWT_PRIVATE_KEYS (first signs, all published). Private parts leave this module only to be stored (db/) and to sign.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { HttpProblem, withRetryingTransaction, type Sequelize } from '@eventtickets/platform';
import {
  deletePreviousSigningKey,
  demoteSigningKey,
  findCurrentSigningKey,
  findSigningKeyStatus,
  insertFirstSigningKey,
  insertSigningKey,
  listSigningKeys,
  lockSigningKeys,
  type SigningKeyRow,
} from '../db/signing-keys.ts';
import { countLiveAccessTokens, forgetAccessTokensOf } from '../db/access-tokens.ts';

export interface SigningKeyInfo {
  kid: string;
  alg: string;
  status: 'signing' | 'previous';
  createdAt: string | null;
}

export interface ActiveSigningKey {
  kid: string;
  alg: string;
  key: CryptoKey | Uint8Array;
}

export interface SigningKeyStore {
  readonly source: 'database' | 'env';
  /** The key new access tokens are signed with. */
  signingKey(): Promise<ActiveSigningKey>;
  /** Public halves of every published key, signing key first. */
  publicJwks(): Promise<{ keys: JWK[] }>;
  list(): Promise<SigningKeyInfo[]>;
  /** Makes a fresh key the signing key; the old one stays published as "previous". */
  rotate(): Promise<SigningKeyInfo>;
  /**
   * Stops publishing a previous key: the unexpired access tokens it signed stop verifying (at the gateway within
   * its JWKS cache time). Refused (409 key-signed-live-tokens, with the counts) while such tokens exist, unless
   * forced (a compromised key). Returns what it ended.
   */
  remove(kid: string, opts?: { force?: boolean }): Promise<KeyRemoval>;
}

/** What removing a key ended: its unexpired access tokens and the sessions (token families) they belong to. */
export interface KeyRemoval {
  kid: string;
  accessTokens: number;
  sessions: number;
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** ES256 for P-256 EC keys, RS256 for RSA keys (the two algorithms the gateway accepts). */
export function algorithmFor(jwk: JWK): 'ES256' | 'RS256' {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA') return 'RS256';
  throw new Error(`unsupported signing key: kty=${jwk.kty} crv=${jwk.crv ?? '-'} (use EC P-256 or RSA)`);
}

/** The public JWK as published: only public members plus kid, alg and use. */
export function publicJwkOf(jwk: JWK, kid: string): JWK {
  const pub: JWK = {};
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) (pub as Record<string, unknown>)[m] = jwk[m];
  return { ...pub, kid, alg: algorithmFor(jwk), use: 'sig' };
}

export async function generateSigningJwk(): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(privateJwk);
  return { kid, privateJwk: { ...privateJwk, kid, alg: 'ES256' }, publicJwk: publicJwkOf(privateJwk, kid) };
}

async function importSigning(jwk: JWK, kid: string): Promise<ActiveSigningKey> {
  const alg = algorithmFor(jwk);
  return { kid, alg, key: await importJWK({ ...jwk, alg }, alg) };
}

const envManaged = () =>
  new HttpProblem(
    409,
    'keys-managed-by-env',
    'Conflict',
    'Signing keys come from JWT_PRIVATE_KEYS; rotate them by changing that variable',
  );

/** Keys fixed by JWT_PRIVATE_KEYS: validated (and imported) at start so a bad key fails fast. */
export async function envKeyStore(jwks: JWK[]): Promise<SigningKeyStore> {
  const entries = await Promise.all(
    jwks.map(async (jwk) => {
      const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
      return { kid, jwk, signing: await importSigning(jwk, kid) };
    }),
  );
  return {
    source: 'env',
    signingKey: async () => entries[0]!.signing,
    publicJwks: async () => ({ keys: entries.map((e) => publicJwkOf(e.jwk, e.kid)) }),
    list: async () =>
      entries.map((e, i) => ({
        kid: e.kid,
        alg: e.signing.alg,
        status: i === 0 ? 'signing' : 'previous',
        createdAt: null,
      })),
    rotate: async () => {
      throw envManaged();
    },
    remove: async () => {
      throw envManaged();
    },
  };
}

const info = (r: SigningKeyRow): SigningKeyInfo => ({
  kid: r.kid,
  alg: r.alg,
  status: r.status,
  createdAt: new Date(r.created_at).toISOString(),
});

/**
 * Keys in the signing_keys table. Nothing is read until first use (the store is built before migrations run);
 * the first use on a fresh database creates the signing key. The signing key is cached for cacheMs so a
 * rotation done by another replica is picked up soon; the JWKS is always read fresh, so a new key is
 * published by every replica the moment it is committed.
 */
export function databaseKeyStore(db: Sequelize, opts: { cacheMs?: number } = {}): SigningKeyStore {
  const cacheMs = opts.cacheMs ?? 30_000;
  let cached: { key: ActiveSigningKey; loadedAt: number } | undefined;
  let ensured: Promise<unknown> | undefined;

  async function signingKey(): Promise<ActiveSigningKey> {
    if (cached && Date.now() - cached.loadedAt < cacheMs) return cached.key;
    const found = await findCurrentSigningKey(db);
    if (!found) {
      await insertFirstSigningKey(db, await generateSigningJwk());
      return signingKey();
    }
    cached = { key: await importSigning(found.private_jwk, found.kid), loadedAt: Date.now() };
    return cached.key;
  }

  /** Once per process: a signing key exists (and imports) before the key set is read. */
  function ensureSigningKey(): Promise<unknown> {
    ensured ??= signingKey().catch((err: unknown) => {
      ensured = undefined;
      throw err;
    });
    return ensured;
  }

  async function rotate(): Promise<SigningKeyInfo> {
    const generated = await generateSigningJwk();
    const row = await withRetryingTransaction(db, async (t) => {
      await lockSigningKeys(db, t);
      await demoteSigningKey(db, t);
      return insertSigningKey(db, t, generated);
    });
    cached = undefined;
    return info(row);
  }

  async function remove(kid: string, opts: { force?: boolean } = {}): Promise<KeyRemoval> {
    // Under the rotation lock: no rotation can turn this key back into, or away from, the signing key meanwhile.
    return withRetryingTransaction(db, async (t) => {
      await lockSigningKeys(db, t);
      const status = await findSigningKeyStatus(db, kid, t);
      if (!status) throw new HttpProblem(404, 'key-not-found', 'Not found', `No signing key ${kid}`);
      if (status === 'signing')
        throw new HttpProblem(409, 'key-in-use', 'Conflict', 'The signing key cannot be removed; rotate first');
      const live = await countLiveAccessTokens(db, kid, t);
      if (live.accessTokens > 0 && !opts.force)
        throw new HttpProblem(
          409,
          'key-signed-live-tokens',
          'Conflict',
          `Key ${kid} signed ${live.accessTokens} access token(s) of ${live.sessions} session(s) that have not expired; ` +
            'removing it ends them now (their holders must refresh). Wait until they expire, or repeat with ?force=true ' +
            'if the key is compromised',
          { kid, ...live },
        );
      await deletePreviousSigningKey(db, kid, t);
      await forgetAccessTokensOf(db, kid, t);
      return { kid, ...live };
    });
  }

  return {
    source: 'database',
    signingKey,
    publicJwks: async () => {
      await ensureSigningKey();
      return { keys: (await listSigningKeys(db)).map((r) => r.public_jwk) };
    },
    list: async () => {
      await ensureSigningKey();
      return (await listSigningKeys(db)).map(info);
    },
    rotate,
    remove,
  };
}
