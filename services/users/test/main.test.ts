// The real entry point as a child process: migrations, demo seed, outbox relay to Redis Streams, HTTP, and a
// clean exit on SIGTERM. Every test passes alone: the SIGTERM test stops a process of its own.
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { createRedis, streamKey, type Redis } from '@eventtickets/platform';
import {
  createContractClient,
  createTestDatabase,
  dropTestDatabase,
  requireRedis,
  startServiceProcess,
  TEST_INTERNAL_TOKEN_SECRET,
  uniqueSuffix,
  type Call,
  type ServiceProcess,
} from '@eventtickets/platform/testing';
import { loadContract } from '../src/app.ts';

const mainFile = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const DEMO_PASSWORD = 'demo-password-123';

interface UsersProcess extends ServiceProcess {
  prefix: string;
  call: Call;
}

/** Starts src/main.ts on its own database and Redis prefix, and waits until it answers /readyz. */
async function startUsersProcess(ctx: Mocha.Context): Promise<UsersProcess> {
  const [redisUrl] = requireRedis(ctx);
  const contract = await loadContract();
  const dbUrl = await createTestDatabase(ctx, 'users_main');
  const prefix = `t${uniqueSuffix()}:`;
  const service = await startServiceProcess('users', mainFile, {
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl!,
    REDIS_PREFIX: prefix,
    DEMO_PASSWORD,
    SCRYPT_LOG_N: '12',
    INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
  });
  let stopped: Promise<number | null> | undefined;
  return {
    ...service,
    prefix,
    call: createContractClient(service.url, contract, { service: 'users' }),
    stop: () =>
      (stopped ??= (async () => {
        const code = await service.stop();
        await dropTestDatabase(dbUrl);
        return code;
      })()),
  };
}

describe('users: main.ts as a process (real Postgres and Redis)', function () {
  describe('running', () => {
    let users: UsersProcess;
    let redis: Redis;
    before(async function () {
      users = await startUsersProcess(this);
      redis = createRedis(requireRedis(this)[0]!);
    });
    after(async () => {
      await users?.stop();
      await redis?.quit();
    });

    it('seeds the demo accounts and relays user.registered to the user stream', async () => {
      for (const [email, role] of [
        ['buyer@example.com', 'buyer'],
        ['organizer@example.com', 'organizer'],
        ['admin@example.com', 'admin'],
      ]) {
        const login = await users.call('POST', '/api/auth/login', { body: { email, password: DEMO_PASSWORD } });
        expect(login.status, email).to.equal(200);
        expect(login.body.user.role).to.equal(role);
      }

      const reg = await users.call('POST', '/api/auth/register', {
        body: { email: 'relay@example.org', password: 'long enough password', name: 'Relay' },
      });
      expect(reg.status).to.equal(201);
      const userId = reg.body.user.id as string;

      const key = streamKey(users.prefix, 'user.registered');
      const event = await users.whileRunning('the relayed event', async () => {
        const entries = await redis.xrange(key, '-', '+');
        return entries
          .map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!))
          .find((e) => e.aggregateId === userId);
      });
      expect(event).to.deep.include({ type: 'user.registered', aggregateId: userId });
      expect(event.payload).to.deep.equal({
        userId,
        email: 'relay@example.org',
        name: 'Relay',
        phone: null,
        role: 'buyer',
        notificationPrefs: { email: true, sms: false },
      });
      const relayed = (await redis.xrange(key, '-', '+')).length;
      expect(relayed).to.equal(4); // three demo accounts plus this one
    });

    it('reports database, migrations and Redis in /readyz', async () => {
      const body = await (await fetch(`${users.url}/readyz`)).json();
      expect(body).to.deep.equal({ status: 'ready', checks: { database: 'ok', migrations: 'ok', redis: 'ok' } });
    });
  });

  describe('shutdown', () => {
    let users: UsersProcess;
    before(async function () {
      users = await startUsersProcess(this);
    });
    after(async () => {
      await users?.stop();
    });

    it('publishes its JWKS and exits 0 on SIGTERM', async () => {
      const jwks = (await users.call('GET', '/.well-known/jwks.json')).body;
      expect(jwks.keys).to.have.length(1);
      expect((await users.call('GET', '/api/auth/jwks.json')).body).to.deep.equal(jwks);
      expect(await users.stop()).to.equal(0);
    });
  });
});
