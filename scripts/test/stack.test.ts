// `npm start` with the real registry (scripts/stack/services.ts): every registered service comes up healthy
// behind one command, Ctrl-C leaves nothing running, and a second start reuses DATA_DIR.
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '@eventtickets/platform/testing';
import { stackServices } from '../stack/services.ts';
import { alive, freePortRange, StackProcess, tempDataDir } from './stack-process.ts';

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

  async function startAndCheck(): Promise<{ stack: StackProcess; pids: number[] }> {
    const stack = new StackProcess({ PORT: '0', SERVICE_PORT_BASE: String(base) }, dataDir);
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
    return { stack, pids: [record.runner, ...record.processes.map((p) => p.pid)] };
  }

  it(`starts Postgres, Redis and the ${stackServices.length} registered service(s), and Ctrl-C stops every process`, async () => {
    const { stack, pids } = await startAndCheck();
    expect(stack.output).to.contain('postgres: initialised a new cluster');
    expect(await stack.stop('SIGINT')).to.equal(0);
    expect(pids.filter(alive), 'still alive after exit').to.deep.equal([]);
  });

  it('starts again on the same DATA_DIR, reusing the cluster and the demo password', async () => {
    const { stack, pids } = await startAndCheck();
    expect(stack.output).to.contain('postgres: reusing the cluster');
    const password = readFileSync(join(dataDir, 'demo-password'), 'utf8').trim();
    expect(stack.output).to.contain(`demo password  ${password}  (kept in`);
    expect(await stack.stop('SIGINT')).to.equal(0);
    expect(pids.filter(alive), 'still alive after exit').to.deep.equal([]);
  });
});
