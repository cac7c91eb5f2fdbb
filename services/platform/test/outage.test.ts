// Outages are logged once when they start and once when they end, against a real redis-server that the test
// stops and starts again on the same port: several connections (a client, pub/sub's two) and their
// reconnection attempts make one "redis unavailable" line and one "redis available again" line.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '../src/logger.ts';
import { createRedis, RedisUnavailableError } from '../src/redis.ts';
import { createPubSub } from '../src/pubsub.ts';
import { isConnectionError, loopFailures } from '../src/outage.ts';
import { requireBinary } from '../src/testing/harness.ts';
import { waitFor } from '../src/testing/wait.ts';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function capture() {
  const lines: string[] = [];
  const logger = createLogger('outage-test', {
    level: 'info',
    destination: new Writable({
      write(c, _e, cb) {
        lines.push(String(c));
        cb();
      },
    }),
  });
  return { logger, records: () => lines.map((l) => JSON.parse(l)) };
}

describe('platform/outage: one line when an outage starts, one when it ends', function () {
  let server: ChildProcess | undefined;
  let port: number;

  async function startRedis(): Promise<void> {
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const probe = createRedis(`redis://127.0.0.1:${port}`, { retryStrategy: () => 50, maxRetriesPerRequest: 0 });
    try {
      await waitFor('redis-server to accept connections', async () => (await probe.ping().catch(() => '')) === 'PONG', {
        timeoutMs: 20_000,
      });
    } finally {
      probe.disconnect();
    }
  }

  async function stopRedis(): Promise<void> {
    const s = server!;
    server = undefined;
    if (s.exitCode === null && s.signalCode === null) {
      s.kill('SIGKILL');
      await once(s, 'exit');
    }
  }

  before(async function () {
    requireBinary(this, 'redis-server');
    port = await freePort();
    await startRedis();
  });
  after(async () => {
    if (server) await stopRedis();
  });

  it('a Redis outage seen by three connections and many retries logs exactly one "down" and one "back" line', async () => {
    const { logger, records } = capture();
    const url = `redis://127.0.0.1:${port}`;
    // Reconnection attempts every 20 ms: many retries during the outage.
    const client = createRedis(url, { retryStrategy: () => 20 }, logger);
    const pubsub = createPubSub({ url, logger, prefix: 'outage:' });
    let received = 0;
    await pubsub.subscribe('ping', () => received++);
    await client.ping();
    let errors = 0;
    client.on('error', () => errors++);

    await stopRedis();
    await waitFor(
      'the outage to be logged and retried',
      async () => errors >= 5 && records().some((r) => r.msg === 'redis unavailable'),
    );
    await startRedis();
    await waitFor(
      'every connection to be back',
      async () => client.status === 'ready' && records().some((r) => /^redis available again/.test(r.msg)),
    );
    // The subscriber resubscribed: a message published now arrives. The publisher reconnects on its own
    // schedule and refuses at once until it has (fail fast by design), so "not back yet" is retried here.
    await waitFor('a message after the outage', async () => {
      try {
        await pubsub.publish('ping', 'x');
      } catch (err) {
        if (err instanceof RedisUnavailableError) return false;
        throw err;
      }
      return received > 0;
    });

    const down = records().filter((r) => /unavailable/.test(r.msg));
    const back = records().filter((r) => /available again/.test(r.msg));
    expect(down.map((r) => [r.level, r.msg, r.redis])).to.deep.equal([
      ['warn', 'redis unavailable', `127.0.0.1:${port}`],
    ]);
    expect(down[0].err.message).to.be.a('string').and.not.empty;
    expect(back.map((r) => [r.level, r.redis])).to.deep.equal([['info', `127.0.0.1:${port}`]]);
    expect(back[0].outageMs).to.be.a('number').and.above(0);
    expect(back[0].msg).to.match(/^redis available again after \d+\.\d s$/);
    expect(records().filter((r) => r.level === 'warn' || r.level === 'error')).to.have.length(1);

    await pubsub.close();
    await client.quit();
  });

  it('a polling loop logs a database outage once, and its recovery once', () => {
    const { logger, records } = capture();
    const relay = loopFailures(logger, 'outbox relay');
    const expiry = loopFailures(logger, 'hold expiry');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      name: 'SequelizeConnectionRefusedError',
    });
    for (let i = 0; i < 10; i++) {
      relay.failed(refused);
      expiry.failed(refused);
    }
    relay.ok();
    expect(records().map((r) => r.msg)).to.deep.equal(['postgres unavailable']); // the expiry job still fails
    expiry.ok();
    relay.ok();
    expect(records().map((r) => r.msg.replace(/\d+\.\d s$/, 'N s'))).to.deep.equal([
      'postgres unavailable',
      'postgres available again after N s',
    ]);
  });

  it('tells connection failures from failing statements', () => {
    expect(isConnectionError(Object.assign(new Error('x'), { name: 'SequelizeConnectionRefusedError' }))).to.equal(
      true,
    );
    expect(isConnectionError({ name: 'SequelizeDatabaseError', original: { code: '57P01' } })).to.equal(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).to.equal(true);
    expect(isConnectionError({ name: 'SequelizeDatabaseError', original: { code: '23505' } })).to.equal(false);
    expect(isConnectionError('ECONNREFUSED')).to.equal(false);
  });
});
