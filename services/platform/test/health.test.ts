import { expect } from 'chai';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { createServiceApp, listen, type RunningServer } from '../src/http.ts';
import { createDatabase, databaseReadiness, migrate, type Migration, type Sequelize } from '../src/db.ts';
import { closeRedis, createRedis, redisReadiness, type Redis } from '../src/redis.ts';
import { createTestDatabase, dropTestDatabase, requireBinary } from '../src/testing/harness.ts';
import { startRedis, type RedisHandle } from '../../../scripts/infra/processes.ts';

const applied: Migration[] = [{ name: '0001-items', up: (tx) => tx.query('CREATE TABLE items (id text PRIMARY KEY)') }];
const withPending: Migration[] = [
  ...applied,
  { name: '0002-item-names', up: (tx) => tx.query('ALTER TABLE items ADD COLUMN name text') },
];

describe('platform/health: /healthz and /readyz against real Postgres and Redis', () => {
  const logger = createLogger('health', { level: 'silent' });
  let dbUrl: string;
  let db: Sequelize;
  let redisServer: RedisHandle;
  let redis: Redis;
  const servers: RunningServer[] = [];

  before(async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    dbUrl = await createTestDatabase(this, 'health');
    db = createDatabase(dbUrl, { poolMax: 2 });
    await migrate(db, applied);
    // A redis-server of our own, so the test can stop it.
    redisServer = await startRedis();
    redis = createRedis(redisServer.url);
    redis.on('error', () => undefined); // connection errors are expected once the server is stopped
  });
  after(async () => {
    for (const s of servers) await s.close(1000);
    if (redis) await closeRedis([redis]);
    await redisServer?.stop();
    await db?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  async function serve(migrations: Migration[]) {
    const app = createServiceApp({
      service: 'health',
      logger,
      metrics: createMetrics('health', { collectDefault: false }),
      readiness: { ...databaseReadiness(db, migrations), ...redisReadiness([redis]) },
    });
    const server = await listen(app.callback(), 0);
    servers.push(server);
    return server.url;
  }

  it('is live and ready when the database answers, migrations are current and Redis answers', async () => {
    const url = await serve(applied);
    const live = await fetch(`${url}/healthz`);
    expect(live.status).to.equal(200);
    expect(await live.json()).to.deep.equal({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).to.equal(200);
    expect(await ready.json()).to.deep.equal({
      status: 'ready',
      checks: { database: 'ok', migrations: 'ok', redis: 'ok' },
    });
  });

  it('is 503 naming the migrations check while a migration is pending', async () => {
    const url = await serve(withPending);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).to.equal(503);
    expect(await res.json()).to.deep.equal({
      status: 'not-ready',
      checks: { database: 'ok', migrations: 'pending migrations: 0002-item-names', redis: 'ok' },
    });
    await migrate(db, withPending);
    expect((await fetch(`${url}/readyz`)).status).to.equal(200);
  });

  it('is 503 naming the redis check once Redis is gone, while /healthz stays 200', async () => {
    const url = await serve(withPending);
    await redisServer.stop();
    const res = await fetch(`${url}/readyz`);
    expect(res.status).to.equal(503);
    const body = await res.json();
    expect(body.status).to.equal('not-ready');
    expect(body.checks.database).to.equal('ok');
    expect(body.checks.migrations).to.equal('ok');
    expect(body.checks.redis).to.be.a('string').and.not.equal('ok');
    expect((await fetch(`${url}/healthz`)).status).to.equal(200);
  });
});
