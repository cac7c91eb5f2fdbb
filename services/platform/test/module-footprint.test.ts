// Module footprint (issue 19): what a process loads is what it costs in memory and start time. The gateway has no
// database: it imports the platform through its subpaths and never loads Sequelize (with validator and
// moment-timezone), pg, Redlock or the event bus; neither does the local stack runner before it starts anything.
// A root import ('@eventtickets/platform') slipping into either loads them all: these fail then.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const censusHook = join(repoRoot, 'load', 'footprint', 'census-hook.ts');
const DATABASE_PACKAGES = ['sequelize', 'validator', 'moment-timezone', 'pg', 'redlock'];

/** The packages (and platform files) a fresh Node process loads importing `files`, without running a service. */
function loadedBy(files: string[]): { packages: Record<string, number>; platformFiles: string[]; loaded: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'module-footprint-'));
  try {
    const out = join(dir, 'census.json');
    const script = files.map((f) => `await import(${JSON.stringify(pathToFileURL(f).href)});`).join('\n');
    const run = spawnSync(process.execPath, ['--import', censusHook, '--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: { ...process.env, FOOTPRINT_CENSUS_OUT: out, FOOTPRINT_CENSUS_URLS: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).to.equal(0);
    const census = JSON.parse(readFileSync(out, 'utf8')) as { packages: Record<string, number>; urls?: string[] };
    const loaded = census.urls ?? [];
    return {
      packages: census.packages,
      loaded,
      platformFiles: loaded
        .filter((u) => u.includes('/services/platform/src/'))
        .map((u) => u.slice(u.indexOf('/services/platform/src/') + '/services/platform/src/'.length)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourcesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('platform module footprint: who loads what', function () {
  this.timeout(120_000);

  it('the gateway (every source file but main.ts) loads no database package, Redlock or event bus', () => {
    const gatewaySrc = join(repoRoot, 'services', 'gateway', 'src');
    const files = sourcesUnder(gatewaySrc).filter((f) => relative(gatewaySrc, f) !== 'main.ts');
    expect(files.length).to.be.greaterThan(10);
    const { packages, platformFiles } = loadedBy(files);
    for (const pkg of DATABASE_PACKAGES) expect(packages, `gateway loads ${pkg}`).to.not.have.property(pkg);
    expect(platformFiles).to.not.include.members(['index.ts', 'db.ts', 'sql.ts', 'service-base.ts', 'locks.ts']);
    expect(platformFiles.filter((f) => f.startsWith('eventbus/'))).to.deep.equal([]);
    // what it does use is there: the HTTP pipeline, the contracts, Redis
    expect(platformFiles).to.include.members(['http.ts', 'contracts.ts', 'redis.ts']);
    expect(packages).to.have.property('ioredis');
  });

  it('the stack runner loads no database package before it starts anything (only pg, for CREATE DATABASE)', () => {
    const { packages, platformFiles } = loadedBy([
      join(repoRoot, 'scripts', 'stack', 'settings.ts'),
      join(repoRoot, 'scripts', 'stack', 'runner.ts'),
      join(repoRoot, 'services', 'platform', 'src', 'config.ts'),
    ]);
    for (const pkg of ['sequelize', 'validator', 'moment-timezone', 'redlock', 'mailparser'])
      expect(packages, `runner loads ${pkg}`).to.not.have.property(pkg);
    expect(platformFiles).to.not.include('index.ts');
  });

  it('a subpath and the barrel are the same module: one HttpProblem class, one ensureDatabase', async () => {
    const [root, errors, db, pgAdmin] = await Promise.all([
      import('@eventtickets/platform'),
      import('@eventtickets/platform/errors'),
      import('@eventtickets/platform/db'),
      import('@eventtickets/platform/pg-admin'),
    ]);
    expect(errors.HttpProblem).to.equal(root.HttpProblem);
    expect(db.ensureDatabase).to.equal(pgAdmin.ensureDatabase);
    expect(root.ensureDatabase).to.equal(pgAdmin.ensureDatabase);
  });

  it('every subpath of the package exports resolves to a module', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'services', 'platform', 'package.json'), 'utf8')) as {
      exports: Record<string, string>;
    };
    const subpaths = Object.keys(pkg.exports).filter((k) => !['.', './testing', './tracing-register'].includes(k));
    expect(subpaths.length).to.be.greaterThan(20);
    for (const sub of subpaths) {
      const mod = (await import(`@eventtickets/platform/${sub.slice(2)}`)) as Record<string, unknown>;
      expect(Object.keys(mod).length, sub).to.be.greaterThan(0);
    }
  });
});
