// `npm start` and `npm test` on a fresh clone: plain JavaScript that runs on any Node >= 18.
//   node scripts/preflight.mjs start [args]   -> node scripts/start.ts [args]
//   node scripts/preflight.mjs test [args]    -> mocha [args]
// 1. Node: the project needs Node 24. An older (or newer) one fetches Node 24 once from the npm registry
//    (the node-<platform>-<arch> package) into ~/.cache/eventtickets/node-24.21.0 and runs with it.
// 2. Dependencies: `npm ci` when node_modules is missing or older than package-lock.json.
// 3. The web app (frontend/, when the checkout has it): built into frontend/dist when that is missing or older
//    than the app's sources, so `npm start` serves it and the browser tests test what was written.
// 4. Then the real command, with Node 24 first on PATH. A missing prerequisite is one sentence, never a stack.
// ET_PREFLIGHT_DRY_RUN=1 (for the tests): say what npm ci would do instead of running it, and instead of the
// real command print which Node would run it.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_VERSION = '24.21.0';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dryRun = process.env.ET_PREFLIGHT_DRY_RUN === '1';
const say = (line) => process.stderr.write(`preflight: ${line}\n`);

class Stop extends Error {}
/** Ends the run with one sentence saying what to do. */
function stop(sentence) {
  throw new Stop(sentence);
}

function npmWorks(env) {
  const r = spawnSync('npm', ['--version'], { env, encoding: 'utf8' });
  return r.status === 0;
}

function nodeVersionOf(binary) {
  const r = spawnSync(binary, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The Node 24 binary to run with: this one, else the cached download, else a fresh download. */
function node24() {
  if (process.versions.node.split('.')[0] === '24') return process.execPath;
  const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const dir = join(cacheRoot, 'eventtickets', `node-${NODE_VERSION}`);
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary) && nodeVersionOf(binary) === NODE_VERSION) {
    say(`Node ${process.versions.node} is not Node 24: running with Node ${NODE_VERSION} from ${dir}`);
    return binary;
  }
  const pkg = `node-${process.platform}-${process.arch}`;
  if (!['linux', 'darwin'].includes(process.platform) || !['x64', 'arm64'].includes(process.arch)) {
    stop(
      `this project needs Node 24 and there is no ready-made download for ${process.platform}-${process.arch}: install Node 24 (https://nodejs.org) and run again`,
    );
  }
  if (!npmWorks(process.env))
    stop(
      `this project needs Node 24 and npm is not on PATH to fetch it: install Node 24 with npm (https://nodejs.org) and run again`,
    );
  say(
    `Node ${process.versions.node} is not Node 24: fetching Node ${NODE_VERSION} from the npm registry (${pkg}) into ${dir}, once`,
  );
  mkdirSync(dirname(dir), { recursive: true });
  const work = mkdtempSync(join(dirname(dir), '.download-'));
  try {
    const packed = spawnSync('npm', ['pack', `${pkg}@${NODE_VERSION}`, '--pack-destination', work, '--silent'], {
      cwd: work,
      encoding: 'utf8',
    });
    if (packed.status !== 0) {
      const why =
        `${packed.stderr || ''}`
          .split('\n')
          .map((l) => l.trim())
          .find((l) => /ERR|error|network|ENOTFOUND|ETIMEDOUT/i.test(l)) || `npm pack exited with ${packed.status}`;
      stop(
        `could not download Node ${NODE_VERSION} (${why}): check the network connection, or install Node 24 yourself (https://nodejs.org), and run again`,
      );
    }
    const tgz = packed.stdout.trim().split('\n').pop();
    const untar = spawnSync('tar', ['-xzf', join(work, tgz), '-C', work], { encoding: 'utf8' });
    if (untar.status !== 0 || !existsSync(join(work, 'package', 'bin', 'node')))
      stop(
        `could not unpack the downloaded Node ${NODE_VERSION} (is tar installed?); install Node 24 yourself (https://nodejs.org) and run again`,
      );
    mkdirSync(join(work, 'node', 'bin'), { recursive: true });
    copyFileSync(join(work, 'package', 'bin', 'node'), join(work, 'node', 'bin', 'node'));
    chmodSync(join(work, 'node', 'bin', 'node'), 0o755);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, 'node'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (nodeVersionOf(binary) !== NODE_VERSION)
    stop(
      `the downloaded Node ${NODE_VERSION} does not run on this machine: install Node 24 yourself (https://nodejs.org) and run again`,
    );
  return binary;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** npm ci when node_modules is missing or older than the lockfile (npm writes node_modules/.package-lock.json). */
function dependencies(env) {
  const lock = mtime(join(root, 'package-lock.json'));
  const installed = mtime(join(root, 'node_modules', '.package-lock.json'));
  const reason = !existsSync(join(root, 'node_modules'))
    ? 'node_modules is missing'
    : installed === undefined || (lock !== undefined && installed < lock)
      ? 'node_modules is older than package-lock.json'
      : undefined;
  if (!reason) return;
  if (!npmWorks(env))
    stop(`${reason} and npm is not on PATH: install npm (it comes with Node.js, https://nodejs.org) and run again`);
  if (dryRun) {
    say(`${reason}: would run npm ci (dry run)`);
    return;
  }
  say(`${reason}: running npm ci`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) stop(`npm ci failed (see its output above): check the network connection and run again`);
}

/** The newest modification time under a file or folder (node_modules and dist skipped), or 0. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

const APP_SOURCES = ['src', 'public', 'scripts', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json'];

/** Builds frontend/dist when it is missing or older than the app's sources (the gateway serves it at /). */
function frontendBuild(env) {
  const app = join(root, 'frontend');
  if (!existsSync(join(app, 'package.json'))) return;
  const built = mtime(join(app, 'dist', 'index.html'));
  const sources = Math.max(...APP_SOURCES.map((entry) => newest(join(app, entry))));
  const reason =
    built === undefined ? 'frontend/dist is missing' : built < sources ? 'frontend/dist is older than the app' : '';
  if (!reason) return;
  if (dryRun) {
    say(`${reason}: would build the app (dry run)`);
    return;
  }
  say(`${reason}: building the app (npm run build -w frontend)`);
  const r = spawnSync('npm', ['run', 'build', '--silent', '-w', 'frontend'], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) stop('building the app failed (see its output above): fix the error and run again');
}

function commandFor(what, args, node) {
  if (what === 'start') return [node, [join(root, 'scripts', 'start.ts'), ...args]];
  if (what === 'test') {
    const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
    if (!existsSync(mocha) && !dryRun)
      stop(
        'mocha is not installed although node_modules exists: remove node_modules and run again (npm ci reinstalls it)',
      );
    return [node, [mocha, ...args]];
  }
  return stop(`unknown command "${what}": use start or test`);
}

function main() {
  const [what = 'start', ...args] = process.argv.slice(2);
  const node = node24();
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
  dependencies(env);
  // a test run builds the app only when it includes the browser tests (all files, or files under frontend/)
  const files = args.filter((a) => !a.startsWith('-') && /\.test\.ts$|\*/.test(a));
  if (what === 'start' || (what === 'test' && (!files.length || files.some((f) => /(^|\/)frontend\//.test(f)))))
    frontendBuild(env);
  const [command, commandArgs] = commandFor(what, args, node);
  if (dryRun) {
    const probe = spawnSync(node, ['-p', 'process.version'], { env, encoding: 'utf8' });
    process.stdout.write(`${JSON.stringify({ node: probe.stdout.trim(), command: [command, ...commandArgs] })}\n`);
    return;
  }
  const child = spawn(command, commandArgs, { cwd: root, env, stdio: 'inherit' });
  // A terminal's Ctrl-C reaches the child itself; a signal sent to this process alone is passed on. Either
  // way this process stays until the child has exited, and ends with its status.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  // `kill <npm>`: npm passes SIGTERM to the shell it started this from, which dies without passing it on;
  // a parent gone is the same request to stop
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) child.kill('SIGTERM');
  }, 500).unref();
  child.on('error', (err) => {
    say(`could not run ${command}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) =>
    process.exit(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15)),
  );
}

try {
  main();
} catch (err) {
  if (!(err instanceof Stop)) throw err;
  say(err.message);
  process.exit(1);
}
