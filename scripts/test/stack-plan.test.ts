// The stack plan and log formatting: ports, database names, per-service environment, readable log lines.
import { expect } from 'chai';
import type { StackService } from '../stack/services.ts';
import { databaseName, devMailPorts, serviceEnv, servicePort, startOrder, urlVariable } from '../stack/plan.ts';
import { formatLogLine, lineSplitter, prefixer } from '../stack/log-format.ts';
import { describeExit, nextRestart } from '../stack/restarts.ts';

const users: StackService = { name: 'users', dir: 'users', port: 8081, database: true };
const gateway: StackService = { name: 'gateway', dir: 'gateway', port: 8080, database: false };
const orders: StackService = {
  name: 'orders',
  dir: 'orders',
  port: 8084,
  database: true,
  env: { RESERVATION_GRACE: '5' },
};

describe('stack plan', () => {
  const settings = {
    ports: { gatewayPort: 9000, serviceBase: 30000 },
    postgresUrl: 'postgres://postgres:pw@127.0.0.1:5555/postgres',
    redisUrls: ['redis://127.0.0.1:1', 'redis://127.0.0.1:2'],
    redisPrefix: 'et:',
    demoPassword: 'secret-demo',
  };

  it('starts the gateway last whatever the registry order', () => {
    expect(startOrder([gateway, users, orders]).map((s) => s.name)).to.deep.equal(['users', 'orders', 'gateway']);
  });

  it('gives the gateway PORT and shifts the others with SERVICE_PORT_BASE', () => {
    expect(servicePort(gateway, settings.ports)).to.equal(9000);
    expect(servicePort(orders, settings.ports)).to.equal(30004);
    expect(servicePort(orders, { gatewayPort: 8080 })).to.equal(8084);
  });

  it('builds each service environment: own database, Redis masters, every service URL, registry extras', () => {
    const env = serviceEnv(orders, [users, orders, gateway], settings);
    expect(env).to.include({
      PORT: '30004',
      NODE_ENV: 'development',
      SERVICE_NAME: 'orders',
      OTEL_SERVICE_NAME: 'orders',
      DATABASE_URL: 'postgres://postgres:pw@127.0.0.1:5555/orders',
      REDIS_URL: 'redis://127.0.0.1:1,redis://127.0.0.1:2',
      REDIS_PREFIX: 'et:',
      DEMO_PASSWORD: 'secret-demo',
      USERS_URL: 'http://127.0.0.1:30001',
      ORDERS_URL: 'http://127.0.0.1:30004',
      GATEWAY_URL: 'http://127.0.0.1:9000',
      RESERVATION_GRACE: '5',
    });
    expect(env).to.not.have.property('BUS_DATABASE_URL');
    expect(env).to.not.have.property('SMTP_URL');
    expect(serviceEnv(gateway, [users, gateway], settings)).to.not.have.property('DATABASE_URL');
  });

  it('binds the services behind the gateway to loopback only (they trust its identity headers)', () => {
    expect(serviceEnv(orders, [users, orders, gateway], settings).HOST).to.equal('127.0.0.1');
    expect(serviceEnv(users, [users, gateway], settings).HOST).to.equal('127.0.0.1');
    expect(serviceEnv(gateway, [users, gateway], settings)).to.not.have.property('HOST');
  });

  it('without Redis gives BUS_DATABASE_URL (the bus database) and no REDIS_URL; passes SMTP_URL through', () => {
    const env = serviceEnv(users, [users], { ...settings, redisUrls: [], smtpUrl: 'smtp://mail:25' });
    expect(env.BUS_DATABASE_URL).to.equal('postgres://postgres:pw@127.0.0.1:5555/bus');
    expect(env).to.not.have.property('REDIS_URL');
    expect(env.SMTP_URL).to.equal('smtp://mail:25');
  });

  it('points a devMail service at the dev mail sink (SMTP_URL, SMS over HTTP) only when the runner runs one', () => {
    const notifications: StackService = {
      name: 'notifications',
      dir: 'notifications',
      port: 8086,
      database: true,
      devMail: true,
    };
    const sink = { ...settings, smtpUrl: 'smtp://127.0.0.1:30008', devMail: { smsUrl: 'http://127.0.0.1:30009/sms' } };
    expect(serviceEnv(notifications, [notifications], sink)).to.include({
      SMTP_URL: 'smtp://127.0.0.1:30008',
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: 'http://127.0.0.1:30009/sms',
    });
    expect(serviceEnv(orders, [orders], sink)).to.not.have.property('SMS_PROVIDER');
    const external = serviceEnv(notifications, [notifications], { ...settings, smtpUrl: 'smtp://mail.example:25' });
    expect(external.SMTP_URL).to.equal('smtp://mail.example:25');
    expect(external).to.not.have.property('SMS_HTTP_URL');
    expect(devMailPorts(settings.ports)).to.deep.equal({ http: 30009, smtp: 30008 });
    expect(devMailPorts({ gatewayPort: 8080 })).to.deep.equal({ http: 8089, smtp: 8088 });
  });

  it('derives safe database names and URL variables from service names', () => {
    expect(databaseName({ ...users, name: 'check-in' })).to.equal('check_in');
    expect(databaseName({ ...users, name: '2fa' })).to.equal('s_2fa');
    expect(urlVariable({ ...users, name: 'check-in' })).to.equal('CHECK_IN_URL');
  });
});

describe('stack log formatting', () => {
  it('compacts a pino JSON line to time, level, message and the other fields', () => {
    const line = JSON.stringify({
      level: 'info',
      time: '2026-01-02T10:11:12.345Z',
      service: 'users',
      pid: 1,
      hostname: 'h',
      msg: 'request',
      method: 'GET',
      status: 200,
      path: '/api/me x',
    });
    expect(formatLogLine(line)).to.equal('10:11:12.345 INFO  request method=GET status=200 path="/api/me x"');
  });

  it('keeps error stacks readable and passes non-JSON lines through', () => {
    const line = JSON.stringify({
      level: 50,
      time: 0,
      msg: 'boom',
      err: { type: 'Error', message: 'bad thing', stack: 'Error: bad thing\n    at x' },
    });
    expect(formatLogLine(line)).to.equal('00:00:00.000 ERROR boom err="bad thing"\nError: bad thing\n    at x');
    expect(formatLogLine('plain text {not json')).to.equal('plain text {not json');
    expect(formatLogLine('{broken')).to.equal('{broken');
  });

  it('pads prefixes to the longest name and reassembles lines split across chunks', () => {
    const prefix = prefixer(['stack', 'notifications']);
    expect(prefix('stack')).to.equal('stack         | ');
    expect(prefixer(['stack'], true)('stack')).to.equal('\x1b[36mstack | \x1b[0m');
    const lines: string[] = [];
    const splitter = lineSplitter((l) => lines.push(l));
    splitter.push('one\ntw');
    splitter.push('o\nthree');
    splitter.end();
    expect(lines).to.deep.equal(['one', 'two', 'three']);
  });
});

describe('stack secrets', () => {
  it('passes a registry secret only to the service that declares it', () => {
    const catalog: StackService = {
      name: 'catalog',
      dir: 'catalog',
      port: 8082,
      database: true,
      secrets: ['CURSOR_SECRET'],
    };
    const settings = {
      ports: { gatewayPort: 8080 },
      postgresUrl: 'postgres://p@h:1/postgres',
      redisUrls: [],
      redisPrefix: 'et:',
      demoPassword: 'x'.repeat(12),
      secrets: { CURSOR_SECRET: 's'.repeat(43) },
    };
    expect(serviceEnv(catalog, [catalog, users], settings).CURSOR_SECRET).to.equal('s'.repeat(43));
    expect(serviceEnv(users, [catalog, users], settings)).to.not.have.property('CURSOR_SECRET');
  });
});

describe('stack restart policy', () => {
  const policy = { limit: 4, windowMs: 60_000, initialDelayMs: 1000, maxDelayMs: 5000 };

  it('doubles the back-off with each failure within the window, up to the maximum', () => {
    const failures: number[] = [];
    const delays: number[] = [];
    for (const t of [0, 1000, 3000]) {
      failures.push(t);
      const decision = nextRestart(failures, t, policy);
      expect(decision.giveUp).to.equal(false);
      if (!decision.giveUp) delays.push(decision.delayMs);
    }
    expect(delays).to.deep.equal([1000, 2000, 4000]);
    const capped = nextRestart([0, 1, 2], 2, { ...policy, limit: 10, maxDelayMs: 3000 });
    expect(capped).to.deep.equal({ giveUp: false, delayMs: 3000, failures: 3 });
  });

  it('gives up at the limit within the window, and forgets failures older than the window', () => {
    expect(nextRestart([0, 1000, 3000, 7000], 7000, policy)).to.deep.equal({ giveUp: true, failures: 4 });
    // the same four failures spread over more than the window: the oldest no longer counts
    const spread = [0, 30_000, 50_000, 70_000];
    expect(nextRestart(spread, 70_000, policy)).to.deep.equal({ giveUp: false, delayMs: 4000, failures: 3 });
    expect(spread).to.deep.equal([30_000, 50_000, 70_000]);
  });

  it('describes an exit by its signal, else its code', () => {
    expect(describeExit({ code: null, signal: 'SIGKILL' })).to.equal('SIGKILL');
    expect(describeExit({ code: 3, signal: null })).to.equal('code 3');
  });
});
