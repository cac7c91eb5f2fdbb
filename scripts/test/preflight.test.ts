// scripts/preflight.mjs, what `npm start` and `npm test` run first on a fresh clone: run under an old Node it
// goes on with Node 24 from its cache; it asks for npm ci when node_modules is missing or older than the
// lockfile; a missing prerequisite is one sentence. Dry-run mode (ET_PREFLIGHT_DRY_RUN=1): nothing is
// downloaded or installed, and instead of the real command it prints which Node would run it.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipOrFail } from '@eventtickets/platform/testing';
import { repoRoot } from './stack-process.ts';

const preflight = join(repoRoot, 'scripts', 'preflight.mjs');
const NODE_24 = '24.21.0';

/** An older Node than 24 on this machine (the system one), or undefined. */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const r = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const major = Number(r.stdout.trim().split('.')[0]);
    if (r.status === 0 && major >= 18 && major < 24) return candidate;
  }
  return undefined;
}

function run(node: string, script: string, args: string[], env: Record<string, string>) {
  const r = spawnSync(node, [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ET_PREFLIGHT_DRY_RUN: '1', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the preflight in a fake checkout, with node_modules as fresh as asked. */
function fakeCheckout(dir: string, nodeModules: 'missing' | 'older' | 'fresh'): string {
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  copyFileSync(preflight, join(dir, 'scripts', 'preflight.mjs'));
  writeFileSync(join(dir, 'package-lock.json'), '{}\n');
  const now = Date.now() / 1000;
  utimesSync(join(dir, 'package-lock.json'), now, now);
  if (nodeModules !== 'missing') {
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'node_modules', '.package-lock.json'), '{}\n');
    const at = nodeModules === 'older' ? now - 3600 : now + 1;
    utimesSync(join(dir, 'node_modules', '.package-lock.json'), at, at);
  }
  return join(dir, 'scripts', 'preflight.mjs');
}

describe('npm start / npm test preflight (scripts/preflight.mjs)', function () {
  this.timeout(60_000);
  let home: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'et-preflight-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  /** Seeds the download cache of HOME with this machine's Node 24 (so nothing is downloaded). */
  function seedCache(): string {
    const dir = join(home, '.cache', 'eventtickets', `node-${NODE_24}`, 'bin');
    mkdirSync(dir, { recursive: true });
    symlinkSync(process.execPath, join(dir, 'node'));
    return dir;
  }

  it('under an older Node, says so in one line and runs the command with Node 24 from its cache', function () {
    const old = oldNode();
    if (!old) skipOrFail(this, 'no Node older than 24 at /usr/bin/node');
    if (process.versions.node !== NODE_24)
      skipOrFail(this, `the cache is seeded with this Node, which is ${process.versions.node}, not ${NODE_24}`);
    seedCache();
    const r = run(old!, preflight, ['start', '--flag'], { HOME: home, XDG_CACHE_HOME: '' });
    expect(r.status, r.stderr).to.equal(0);
    // (a working tree whose app sources are newer than frontend/dist also says it would build the app)
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !/^preflight: frontend\/dist is /.test(l));
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(
      new RegExp(
        `^preflight: Node \\d+\\.\\d+\\.\\d+ is not Node 24: running with Node ${NODE_24} from ${home}/\\.cache/eventtickets/node-${NODE_24}$`,
      ),
    );
    const ran = JSON.parse(r.stdout) as { node: string; command: string[] };
    expect(ran.node).to.equal(`v${NODE_24}`);
    expect(ran.command).to.deep.equal([
      join(home, '.cache', 'eventtickets', `node-${NODE_24}`, 'bin', 'node'),
      join(repoRoot, 'scripts', 'start.ts'),
      '--flag',
    ]);
  });

  it('under Node 24, says nothing and runs mocha for npm test', () => {
    const r = run(process.execPath, preflight, ['test', 'some.test.ts'], { HOME: home });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    const ran = JSON.parse(r.stdout) as { node: string; command: string[] };
    expect(ran.command).to.deep.equal([
      process.execPath,
      join(repoRoot, 'node_modules', 'mocha', 'bin', 'mocha.js'),
      'some.test.ts',
    ]);
  });

  for (const [state, expected] of [
    ['missing', 'node_modules is missing'],
    ['older', 'node_modules is older than package-lock.json'],
  ] as const) {
    it(`asks for npm ci when ${expected}`, () => {
      const script = fakeCheckout(join(home, 'checkout'), state);
      const r = run(process.execPath, script, ['start'], { HOME: home });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr.trim()).to.equal(`preflight: ${expected}: would run npm ci (dry run)`);
    });
  }

  it('does not run npm ci when node_modules is newer than the lockfile', () => {
    const script = fakeCheckout(join(home, 'checkout'), 'fresh');
    const r = run(process.execPath, script, ['start'], { HOME: home });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
  });

  for (const [state, expected] of [
    ['missing', 'frontend/dist is missing: would build the app (dry run)'],
    ['older', 'frontend/dist is older than the app: would build the app (dry run)'],
    ['fresh', ''],
  ] as const) {
    it(`npm start builds the app first when frontend/dist is ${state === 'fresh' ? 'newer than its sources: not' : state}`, () => {
      const script = fakeCheckout(join(home, 'checkout'), 'fresh');
      const app = join(home, 'checkout', 'frontend');
      mkdirSync(join(app, 'src'), { recursive: true });
      writeFileSync(join(app, 'package.json'), '{}\n');
      writeFileSync(join(app, 'src', 'main.ts'), '\n');
      const now = Date.now() / 1000;
      for (const f of [join(app, 'package.json'), join(app, 'src', 'main.ts'), join(app, 'src')])
        utimesSync(f, now, now);
      if (state !== 'missing') {
        mkdirSync(join(app, 'dist'));
        writeFileSync(join(app, 'dist', 'index.html'), '\n');
        const at = state === 'older' ? now - 3600 : now + 1;
        utimesSync(join(app, 'dist', 'index.html'), at, at);
      }
      const r = run(process.execPath, script, ['start'], { HOME: home });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr.trim()).to.equal(expected ? `preflight: ${expected}` : '');
    });
  }

  it('without npm, under an older Node and with nothing cached: one sentence saying what to do, no stack trace', function () {
    const old = oldNode();
    if (!old) skipOrFail(this, 'no Node older than 24 at /usr/bin/node');
    const r = run(old!, preflight, ['start'], { HOME: home, XDG_CACHE_HOME: '', PATH: join(home, 'empty') });
    expect(r.status).to.equal(1);
    expect(r.stderr.trim().split('\n'), r.stderr).to.deep.equal([
      'preflight: this project needs Node 24 and npm is not on PATH to fetch it: install Node 24 with npm (https://nodejs.org) and run again',
    ]);
  });

  it('without npm and without node_modules: one sentence saying what to do', () => {
    const script = fakeCheckout(join(home, 'checkout'), 'missing');
    const r = run(process.execPath, script, ['start'], { HOME: home, PATH: join(home, 'empty') });
    expect(r.status).to.equal(1);
    expect(r.stderr.trim().split('\n'), r.stderr).to.deep.equal([
      'preflight: node_modules is missing and npm is not on PATH: install npm (it comes with Node.js, https://nodejs.org) and run again',
    ]);
  });
});
