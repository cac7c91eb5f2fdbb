import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { requireBinary, requirePostgres } from '../src/testing/harness.ts';
import { fixture, startChild, type RunningChild } from './fixtures/child.ts';

/** True while pid is a live process (a zombie waiting to be reaped counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Every live process below pid (Postgres forks its checkpointer, walwriter... under the postmaster). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* exited while listing */
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf)
      if (parent === p) {
        found.push(child);
        walk(child);
      }
  };
  walk(pid);
  return found.filter(running);
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('platform/testing: infrastructure processes leave nothing behind', function () {
  let infra: RunningChild | undefined;
  let orphan: number | undefined; // a redis-server to stop if the SIGKILL test fails
  after(() => {
    infra?.kill();
    if (orphan && running(orphan)) process.kill(orphan, 'SIGTERM');
  });

  it('embedded Postgres and redis-server started by processes.ts are gone, every PID, after stop()', async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    requirePostgres(this); // embedded Postgres must be able to start on this machine
    infra = startChild([fixture('start-infra.ts')], {}, { stdin: true });
    const started = await infra.waitForRecord((r) => r.started, 'infrastructure to start', 60_000);
    const pids = descendants(infra.child.pid!);
    expect(pids).to.include.members([started.postmasterPid, started.redisPid]);
    expect(pids.length, 'postmaster workers too').to.be.greaterThan(2);

    infra.child.stdin!.write('stop\n');
    await infra.waitForRecord((r) => r.stopped, 'stop to finish', 30_000);
    expect(await infra.exited).to.deep.equal({ code: 0, signal: null });
    expect(pids.filter(running), 'processes still running').to.deep.equal([]);
    expect(await refused(started.pgPort)).to.equal(true);
    expect(await refused(started.redisPort)).to.equal(true);
  });

  it('a redis-server stops when the process that started it is killed outright (SIGKILL)', async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    requireBinary(this, 'setpriv', 'util-linux');
    const script = `import { startRedis } from ${JSON.stringify(fileURLToPath(new URL('../../../scripts/infra/processes.ts', import.meta.url)))};
      const r = await startRedis();
      console.log(JSON.stringify({ pid: r.pid, port: r.port }));
      setInterval(() => undefined, 1000);`;
    const starter = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => starter.once('exit', resolve));
    let out = '';
    starter.stdout.setEncoding('utf8');
    const started = await new Promise<{ pid: number; port: number }>((resolve, reject) => {
      starter.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
      });
      starter.once('exit', () => reject(new Error(`starter exited before reporting: ${out}`)));
    });
    orphan = started.pid;
    expect(running(started.pid), 'redis-server runs').to.equal(true);
    expect(readFileSync(`/proc/${started.pid}/cmdline`, 'utf8')).to.match(/^[^\0]*redis-server/); // the same PID is redis-server itself
    starter.kill('SIGKILL');
    await exited;
    while (running(started.pid)) await new Promise((r) => setTimeout(r, 50)); // bounded by the mocha timeout
    expect(await refused(started.port)).to.equal(true);
  });

  it("a nested mocha run's global fixtures (Postgres + 3 redis-server) are all gone when it ends", async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    requirePostgres(this);
    const mocha = spawn(
      process.execPath,
      [`${repoRoot}node_modules/mocha/bin/mocha.js`, 'services/platform/test/fixtures/nested-probe.mocha*.ts'],
      {
        cwd: repoRoot,
        env: { ...process.env, MOCHA_JOBS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    mocha.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    mocha.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const code = await new Promise<number | null>((resolve) => mocha.once('exit', resolve));
    expect(code, out).to.equal(0);
    const line = out.split('\n').find((l) => l.includes('PROBE {'));
    expect(line, out).to.exist;
    const probe = JSON.parse(line!.slice(line!.indexOf('PROBE ') + 6));
    expect(probe.redisPids).to.have.length(3);
    expect([probe.postmasterPid, ...probe.redisPids].filter(running), 'fixture processes still running').to.deep.equal(
      [],
    );
    for (const port of probe.ports) expect(await refused(port), `port ${port} still open`).to.equal(true);
  });

  it('the reporter ends with the summary line, and with CI set a skip fails the run (exit code too)', async () => {
    async function run(env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
      // The repository's own settings that matter here (parallel, exit: true, the reporter), without its specs.
      const args = [
        '--no-config',
        '--parallel',
        '--jobs',
        '1',
        '--exit',
        '--reporter',
        'services/platform/src/testing/reporter.cjs',
        'services/platform/test/fixtures/skip-probe.mocha.ts',
      ];
      const mocha = spawn(process.execPath, [`${repoRoot}node_modules/mocha/bin/mocha.js`, ...args], {
        cwd: repoRoot,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      mocha.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      mocha.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
      const code = await new Promise<number | null>((resolve) => mocha.once('exit', resolve));
      return { code, out };
    }
    const ci = await run({ CI: 'true' });
    expect(ci.out.trim().split('\n').at(-1), ci.out).to.equal('1 passed, 1 failed, 1 skipped');
    expect(ci.code, ci.out).to.equal(1);
    const local = await run({ CI: undefined });
    expect(local.out.trim().split('\n').at(-1), local.out).to.equal('1 passed, 0 failed, 1 skipped');
    expect(local.code, local.out).to.equal(0);
  });
});
