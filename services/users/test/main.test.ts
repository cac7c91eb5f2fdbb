// The real entry point as a child process: migrations, demo seed, outbox relay to Redis Streams, HTTP, and a
// clean exit on SIGTERM.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRedis, streamKey, type Contract, type Redis } from '@eventtickets/platform';
import { createTestDatabase, dropTestDatabase, requireRedis, uniqueSuffix } from '@eventtickets/platform/testing/harness';
import { freePort, stopChild } from '@eventtickets/platform/testing/processes';
import { loadContract } from '../src/app.ts';

const mainFile = fileURLToPath(new URL('../src/main.ts', import.meta.url));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, child: ChildProcess, output: () => string): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`users exited with ${child.exitCode} while waiting for ${what}:\n${output()}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}:\n${output()}`);
}

describe('users: main.ts as a process (real Postgres and Redis)', function () {
  let dbUrl: string;
  let redis: Redis;
  let child: ChildProcess;
  let url: string;
  let log = '';
  let contract: Contract;
  const prefix = `t${uniqueSuffix()}:`;

  before(async function () {
    const [redisUrl] = requireRedis(this);
    contract = await loadContract();
    dbUrl = await createTestDatabase(this, 'users_main');
    redis = createRedis(redisUrl!);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [mainFile], {
      env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, PORT: String(port), HOST: '127.0.0.1', DEMO_PASSWORD: 'demo-password-123', SCRYPT_LOG_N: '12', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => { log += d; });
    child.stderr!.on('data', (d) => { log += d; });
    await waitFor('readiness', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), child, () => log);
  });
  after(async () => {
    if (child) await stopChild(child);
    await redis?.quit();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  /** A JSON call to the running process whose response must match openapi.yaml. */
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(url + path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    expect(contract.responseErrors(method, path, res.status, parsed), `${method} ${path} → ${res.status} ${text}`).to.deep.equal([]);
    return { status: res.status, body: parsed };
  }

  it('seeds the demo accounts and relays user.registered to the user stream', async () => {
    for (const [email, role] of [['buyer@example.com', 'buyer'], ['organizer@example.com', 'organizer'], ['admin@example.com', 'admin']]) {
      const login = await call('POST', '/api/auth/login', { email, password: 'demo-password-123' });
      expect(login.status, email).to.equal(200);
      expect(login.body.user.role).to.equal(role);
    }

    const reg = await call('POST', '/api/auth/register', { email: 'relay@example.org', password: 'long enough password', name: 'Relay' });
    expect(reg.status).to.equal(201);
    const userId = reg.body.user.id as string;

    const key = streamKey(prefix, 'user.registered');
    const event = await waitFor('the relayed event', async () => {
      const entries = await redis.xrange(key, '-', '+');
      const found = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!)).find((e) => e.aggregateId === userId);
      return found ?? undefined;
    }, child, () => log);
    expect(event).to.deep.include({ type: 'user.registered', aggregateId: userId });
    expect(event.payload).to.deep.equal({ userId, email: 'relay@example.org', name: 'Relay', phone: null, role: 'buyer', notificationPrefs: { email: true, sms: false } });
    const seeded = (await redis.xrange(key, '-', '+')).length;
    expect(seeded).to.equal(4); // three demo accounts plus this one
  });

  it('reports database, migrations and Redis in /readyz', async () => {
    const body = await (await fetch(`${url}/readyz`)).json();
    expect(body).to.deep.equal({ status: 'ready', checks: { database: 'ok', migrations: 'ok', redis: 'ok' } });
  });

  it('publishes its JWKS and exits 0 on SIGTERM', async () => {
    const jwks = (await call('GET', '/.well-known/jwks.json')).body;
    expect(jwks.keys).to.have.length(1);
    expect((await call('GET', '/api/auth/jwks.json')).body).to.deep.equal(jwks);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
  });
});
