// Test fixtures: real upstream HTTP servers (small Koa apps), a real key pair and JWKS for the users
// service, and an in-process gateway (createApp) listening on a free port.
import { createHash } from 'node:crypto';
import http from 'node:http';
import Koa, { type Context } from 'koa';
import { Agent } from 'undici';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createLogger, createMetrics, listen, loadConfig, type Logger, type Metrics } from '@eventtickets/platform';
import type { Redis } from 'ioredis';
import { configSchema } from '../src/config.ts';
import { createApp } from '../src/app.ts';
import type { RoutingTable } from '../src/domain/routing.ts';

export interface SeenRequest { method: string; url: string; headers: Record<string, string | string[] | undefined>; bodySha256: string; bodyLength: number }

export interface Upstream {
  name: string;
  url: string;
  seen: SeenRequest[];
  close: () => Promise<void>;
}

/** An upstream that records each request and answers JSON naming itself, unless a custom handler answers. */
export async function startUpstream(name: string, custom?: (ctx: Context) => Promise<boolean> | boolean): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const app = new Koa();
  app.use(async (ctx) => {
    if (custom && (await custom(ctx))) return;
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const entry = { method: ctx.method, url: ctx.url, headers: { ...ctx.req.headers }, bodySha256: createHash('sha256').update(body).digest('hex'), bodyLength: body.length };
    seen.push(entry);
    ctx.set('x-served-by', name);
    ctx.body = { service: name, method: ctx.method, url: ctx.url };
  });
  const server = await listen(app.callback(), 0);
  return { name, url: server.url, seen, close: () => server.close(100) };
}

export interface SigningKey { kid: string; alg: 'ES256' | 'RS256'; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK }

export async function newSigningKey(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export interface TokenClaims { sub?: string; role?: string; email?: string; iss?: string; aud?: string; exp?: number; nbf?: number }

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
export async function startUsersWithJwks(keys: SigningKey[]): Promise<Upstream & { keys: SigningKey[]; jwksFetches: () => number }> {
  let fetches = 0;
  const state = { keys };
  const upstream = await startUpstream('users', (ctx) => {
    if (ctx.path !== '/.well-known/jwks.json') return false;
    fetches++;
    ctx.body = { keys: state.keys.map((k) => k.jwk) };
    return true;
  });
  // Accessors (not copied values): the test edits the published key set while the gateway runs.
  Object.defineProperty(upstream, 'keys', { get: () => state.keys, set: (v: SigningKey[]) => { state.keys = v; } });
  return Object.assign(upstream as Upstream & { keys: SigningKey[] }, { jwksFetches: () => fetches });
}

export interface RunningGateway { url: string; metrics: Metrics; close: () => Promise<void> }

export async function startGateway(env: Record<string, string | undefined>, opts: { redis?: Redis; logger?: Logger; table?: RoutingTable } = {}): Promise<RunningGateway> {
  const config = loadConfig(configSchema, { LOG_LEVEL: 'silent', ...env } as NodeJS.ProcessEnv);
  const logger = opts.logger ?? createLogger('gateway', { level: 'silent' });
  const metrics = createMetrics('gateway', { collectDefault: false });
  const dispatcher = new Agent({ keepAliveTimeout: 1_000, connect: { timeout: 1_000 } });
  const app = await createApp({ config, logger, metrics, dispatcher, redis: opts.redis, table: opts.table });
  const server = await listen(app.callback(), 0);
  return {
    url: server.url,
    metrics,
    close: async () => {
      server.server.closeAllConnections();
      await server.close(100);
      await dispatcher.close();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A raw node:http request (fetch normalises paths and drops Connection/TE headers; the edge must not rely on that). */
export function rawRequest(url: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = http.request({ hostname, port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
