// Test fixtures: a real key pair and JWKS for the users service (on the test kit's fake upstream), and an
// in-process gateway built as main.ts builds it (createDeps + createApp) listening on a free port.
import http from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import {
  createLogger,
  createMetrics,
  listen,
  loadConfig,
  type Logger,
  type Metrics,
  type Redis,
} from '@eventtickets/platform';
import { startFakeUpstream, TEST_INTERNAL_TOKEN_SECRET, type FakeUpstream } from '@eventtickets/platform/testing';
import { configSchema } from '../src/config.ts';
import { createDeps } from '../src/deps.ts';
import { createApp } from '../src/app.ts';
import type { RoutingTable } from '../src/domain/routing.ts';

export interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export async function newSigningKey(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export interface TokenClaims {
  sub?: string;
  role?: string;
  email?: string;
  iss?: string;
  aud?: string;
  exp?: number;
  nbf?: number;
}

export const ISSUER = 'eventtickets';
export const AUDIENCE = 'eventtickets-api';

export async function signToken(key: SigningKey, claims: TokenClaims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: claims.role ?? 'buyer', email: claims.email ?? 'buyer@example.com' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setSubject(claims.sub ?? 'user-1')
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 300);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(key.privateKey);
}

/** A users upstream serving a mutable JWKS (and counting how often it is fetched). */
export async function startUsersWithJwks(
  keys: SigningKey[],
): Promise<FakeUpstream & { keys: SigningKey[]; jwksFetches: () => number }> {
  let fetches = 0;
  const state = { keys };
  const upstream = await startFakeUpstream('users', (ctx) => {
    if (ctx.path !== '/.well-known/jwks.json') return false;
    fetches++;
    ctx.body = { keys: state.keys.map((k) => k.jwk) };
    return true;
  });
  // Accessors (not copied values): the test edits the published key set while the gateway runs.
  Object.defineProperty(upstream, 'keys', {
    get: () => state.keys,
    set: (v: SigningKey[]) => {
      state.keys = v;
    },
  });
  return Object.assign(upstream as FakeUpstream & { keys: SigningKey[] }, { jwksFetches: () => fetches });
}

export interface RunningGateway {
  url: string;
  metrics: Metrics;
  close: () => Promise<void>;
}

/** A gateway on a free port, signing what it forwards with TEST_INTERNAL_TOKEN_SECRET (unless env says
 *  otherwise). `redis`: a client the test owns (shared between replicas, or a dead one). */
export async function startGateway(
  env: Record<string, string | undefined>,
  opts: { redis?: Redis; logger?: Logger; table?: RoutingTable } = {},
): Promise<RunningGateway> {
  const config = loadConfig(configSchema, {
    LOG_LEVEL: 'silent',
    INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    ...env,
  } as NodeJS.ProcessEnv);
  const deps = createDeps(config, {
    logger: opts.logger ?? createLogger('gateway', { level: 'silent' }),
    metrics: createMetrics('gateway', { collectDefault: false }),
    redis: opts.redis,
    table: opts.table,
  });
  const app = await createApp(deps);
  const server = await listen(app.callback(), 0);
  return {
    url: server.url,
    metrics: deps.metrics,
    close: async () => {
      server.server.closeAllConnections();
      await server.close(100);
      await deps.close();
    },
  };
}

/** The summed value of a counter's series matching `labels` on this gateway's registry (0 before the first). */
export async function counterValue(gw: RunningGateway, name: string, labels: Record<string, string>): Promise<number> {
  const metric = gw.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** A base URL where nothing listens (a fake upstream started and closed): connections to it are refused. */
export async function unusedUrl(): Promise<string> {
  const gone = await startFakeUpstream('gone');
  await gone.close();
  return gone.url;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A raw node:http request (fetch normalises paths and drops Connection/TE headers; the edge must not rely on that). */
export function rawRequest(
  url: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = http.request({ hostname, port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
