import { expect } from 'chai';
import { connect } from 'node:net';
import { createTestDatabase, dropTestDatabase, requireRedis } from '../src/testing/harness.ts';
import { fixture, startChild, type RunningChild } from './fixtures/child.ts';

/** Resolves with the connection error code, or 'connected' if something still accepts connections. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function refusedEventually(port: number, deadlineMs = 5000): Promise<string> {
  const deadline = Date.now() + deadlineMs;
  let outcome = await tryConnect(port);
  // ECONNRESET: the connection reached the backlog just as the listener closed (a CI run saw it once); try again
  while ((outcome === 'connected' || outcome === 'ECONNRESET') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    outcome = await tryConnect(port);
  }
  return outcome;
}

describe('platform/http: graceful shutdown of runService (child process)', () => {
  let svc: RunningChild | undefined;
  let databaseUrl: string;
  before(async function () {
    databaseUrl = await createTestDatabase(this, 'shutdown');
  });
  afterEach(() => svc?.kill());
  after(async () => {
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it('finishes the in-flight request, refuses new connections, runs the closers and exits 0', async function () {
    const [redisUrl] = requireRedis(this);
    svc = startChild([fixture('slow-service.ts')], { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl }, { stdin: true });
    const { url } = await svc.waitForRecord((r) => r.msg === 'slow-service listening', 'listening log');
    const port = Number(new URL(url).port);

    // A keep-alive client, like the gateway's pool: the drain must still end with this request.
    const inFlight = fetch(`${url}/slow`);
    await svc.waitForRecord((r) => r.msg === 'slow request started', 'the slow request to arrive');
    svc.child.kill('SIGTERM');
    await svc.waitForRecord((r) => r.msg === 'shutting down', 'shutdown to begin');

    // The listener closes (the log line can reach us a moment before close() runs, hence the retry): new
    // connections are refused while the old request is still running, held by the fixture until released.
    expect(await refusedEventually(port)).to.equal('ECONNREFUSED');
    expect(svc.records().some((r) => r.closer)).to.equal(false);

    svc.child.stdin!.write('release\n');
    const res = await inFlight;
    expect(res.status).to.equal(200);
    expect(res.headers.get('connection'), 'a draining server lets keep-alive sockets go').to.equal('close');
    expect(await res.json()).to.deep.equal({ finished: true, redis: 'PONG', db: 1 });

    expect(await svc.exited).to.deep.equal({ code: 0, signal: null });
    const order = svc
      .records()
      .filter((r) => r.closer || r.msg === 'stopped')
      .map((r) => r.closer ?? r.msg);
    expect(order).to.deep.equal(['redis', 'db', 'last', 'stopped']);
    expect(svc.records().find((r) => r.closer === 'redis').status).to.equal('end');
    expect(svc.records().find((r) => r.closer === 'db').refused).to.equal(true);
  });

  it('a closer that fails does not keep the later ones (Redis, Postgres) from closing; the exit code is 1', async function () {
    const [redisUrl] = requireRedis(this);
    svc = startChild(
      [fixture('slow-service.ts')],
      { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl, FAIL_FIRST_CLOSER: '1' },
      { stdin: true },
    );
    await svc.waitForRecord((r) => r.msg === 'slow-service listening', 'listening log');
    svc.child.kill('SIGTERM');
    expect(await svc.exited).to.deep.equal({ code: 1, signal: null });
    // The closers report with console.log, the logger writes to the same fd by another path: their lines
    // may interleave either way, so only the closers' own order is compared.
    expect(
      svc
        .records()
        .filter((r) => r.closer)
        .map((r) => r.closer),
    ).to.deep.equal(['redis', 'db', 'last']);
    expect(svc.records().find((r) => r.msg === 'error during shutdown')?.err?.message).to.equal(
      'consumer did not stop',
    );
    expect(svc.records().some((r) => r.msg === 'stopped')).to.equal(true);
  });

  for (const [crash, msg, message] of [
    ['rejection', 'unhandled rejection: exiting', 'boom from a promise'],
    ['exception', 'uncaught exception: exiting', 'boom from a timer'],
  ] as const) {
    it(`logs an ${msg.split(':')[0]} as fatal, with the error, and exits 1`, async () => {
      svc = startChild([fixture('crashing-service.ts')], { CRASH: crash });
      expect(await svc.exited).to.deep.equal({ code: 1, signal: null });
      const fatal = svc.records().filter((r) => r.level === 'fatal');
      expect(fatal.map((r) => r.msg)).to.deep.equal([msg]);
      expect(fatal[0].err).to.include({ type: 'Error', message });
      expect(fatal[0].err.stack).to.include('crashing-service.ts');
      expect(svc.stderr()).to.equal('');
    });
  }

  it('a rejection with a bare string logs the string as the error', async () => {
    svc = startChild([fixture('crashing-service.ts')], { CRASH: 'string' });
    expect(await svc.exited).to.deep.equal({ code: 1, signal: null });
    const fatal = svc.records().filter((r) => r.level === 'fatal');
    expect(fatal.map((r) => [r.msg, r.err])).to.deep.equal([['unhandled rejection: exiting', 'connection is closed']]);
  });
});
