// `npm start` with the real registry (scripts/stack/services.ts): every registered service comes up healthy
// behind one command, Ctrl-C leaves nothing running, a second start reuses DATA_DIR (and lists the demo
// accounts without printing their password again), a killed service or redis-server comes back.
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, waitFor } from '@eventtickets/platform/testing';
import { demoAccounts } from '../../services/users/src/use-cases/demo-seed.ts';
import { stackServices } from '../stack/services.ts';
import { alive, freePortRange, pidsInOutput, redisReply, StackProcess, tempDataDir } from './stack-process.ts';

describe('npm start: the whole registered stack', function () {
  this.timeout(240_000);
  let dataDir: string;
  let base: number;
  const running: StackProcess[] = [];

  before(async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    dataDir = tempDataDir();
    base = await freePortRange();
  });

  after(async () => {
    await Promise.all(running.map((s) => s.stop('SIGTERM')));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function startAndCheck(): Promise<{ stack: StackProcess; pids: number[]; gatewayUrl: string }> {
    const stack = new StackProcess(
      { PORT: '0', SERVICE_PORT_BASE: String(base), STACK_RESTART_DELAY_MS: '200' },
      dataDir,
    );
    running.push(stack);
    const gatewayUrl = await stack.ready();
    const record = stack.pids();
    const names = record.processes.map((p) => p.name);
    for (const svc of stackServices) {
      expect(names, `${svc.name} in stack.pids`).to.include(svc.name);
      const url = svc.name === 'gateway' ? gatewayUrl : `http://127.0.0.1:${base + (svc.port - 8080)}`;
      const health = await fetch(`${url}/healthz`);
      expect(health.status, `${svc.name} /healthz`).to.equal(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status, `${svc.name} /readyz`).to.equal(200);
    }
    return { stack, pids: [record.runner, ...record.processes.map((p) => p.pid)], gatewayUrl };
  }

  const login = (gatewayUrl: string, email: string, password: string) =>
    fetch(`${gatewayUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
  const status = async (url: string) => (await fetch(url).catch(() => undefined))?.status;

  it(`starts Postgres, Redis and the ${stackServices.length} registered service(s), and Ctrl-C stops every process`, async () => {
    const { stack, pids } = await startAndCheck();
    expect(stack.output).to.contain('postgres: initialised a new cluster');
    const password = readFileSync(join(dataDir, 'demo-password'), 'utf8').trim();
    expect(stack.output).to.contain(`demo password  ${password}  (generated now, kept in`);
    expect(await stack.stop('SIGINT')).to.equal(0);
    expect(pids.filter(alive), 'still alive after exit').to.deep.equal([]);
  });

  it('starts again on the same DATA_DIR, reusing the cluster and the demo password (not printed again); every demo account is listed and logs in', async () => {
    const { stack, pids, gatewayUrl } = await startAndCheck();
    expect(stack.output).to.contain('postgres: reusing the cluster');
    const password = readFileSync(join(dataDir, 'demo-password'), 'utf8').trim();
    expect(stack.output, 'printed only when generated').to.not.contain(password);
    expect(stack.output).to.contain(`demo password  kept in ${join(dataDir, 'demo-password')}`);
    // the banner lists what users creates, admin@example.com included
    expect(demoAccounts.map((a) => a.email)).to.include('admin@example.com');
    expect(stack.output).to.contain(`demo accounts  ${demoAccounts.map((a) => `${a.email} (${a.role})`).join(', ')}`);
    for (const account of demoAccounts) {
      const res = await login(gatewayUrl, account.email, password);
      expect(res.status, account.email).to.equal(200);
    }
    expect(await stack.stop('SIGINT')).to.equal(0);
    expect(pids.filter(alive), 'still alive after exit').to.deep.equal([]);
  });

  it('a SIGKILLed service or redis-server is started again (same port; Redis with its password) and the services recover', async () => {
    const { stack, pids, gatewayUrl } = await startAndCheck();
    const pidOf = (name: string) => stack.pids().processes.find((p) => p.name === name)!.pid;
    const catalogUrl = `http://127.0.0.1:${base + 2}`;
    expect(await status(`${gatewayUrl}/api/events`)).to.equal(200);

    const catalog = pidOf('catalog');
    process.kill(catalog, 'SIGKILL');
    await stack.waitFor(new RegExp(`catalog \\(PID ${catalog}\\) exited unexpectedly \\(SIGKILL\\); restarting it in`));
    await stack.waitFor(new RegExp(`catalog ready again at ${catalogUrl}`));
    expect(pidOf('catalog')).to.not.equal(catalog);
    expect(await status(`${catalogUrl}/readyz`)).to.equal(200);
    expect(await status(`${gatewayUrl}/readyz`)).to.equal(200);
    expect(await status(`${gatewayUrl}/api/events`), 'through the gateway').to.equal(200);

    const redisPassword = readFileSync(join(dataDir, 'redis-password'), 'utf8').trim();
    const redisPort = Number(stack.output.match(/redis: 3 local redis-server .*: redis:\/\/127\.0\.0\.1:(\d+)/)![1]);
    const redis = pidOf('redis-1');
    process.kill(redis, 'SIGKILL');
    await stack.waitFor(new RegExp(`redis-1 \\(PID ${redis}\\) exited unexpectedly \\(SIGKILL\\); restarting it in`));
    await stack.waitFor(new RegExp(`redis-1 restarted \\(PID \\d+\\) port ${redisPort}`));
    expect(await redisReply(redisPort, 'PING'), 'the stack Redis refuses a client without the password').to.match(
      /^-NOAUTH/,
    );
    expect(await redisReply(redisPort, 'PING', redisPassword)).to.equal('+PONG');
    for (const svc of stackServices) {
      const url = svc.name === 'gateway' ? gatewayUrl : `http://127.0.0.1:${base + (svc.port - 8080)}`;
      await waitFor(
        `${svc.name} ready again after the Redis restart`,
        async () => (await status(`${url}/readyz`)) === 200,
        {
          timeoutMs: 60_000,
        },
      );
    }
    expect(await status(`${gatewayUrl}/api/events`)).to.equal(200);
    const password = readFileSync(join(dataDir, 'demo-password'), 'utf8').trim();
    expect((await login(gatewayUrl, 'buyer@example.com', password)).status).to.equal(200);

    expect(await stack.stop('SIGINT')).to.equal(0);
    const all = [...pids, ...pidsInOutput(stack.output)];
    expect(all.filter(alive), 'still alive after exit').to.deep.equal([]);
  });
});
