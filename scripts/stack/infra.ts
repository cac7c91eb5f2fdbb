// Infrastructure of the local stack: the embedded Postgres (persistent under DATA_DIR with Postgres's durable
// defaults, one database per service) and the Redis masters (REDIS_URL, else three local redis-server, else
// the in-memory mode). The local redis-server require a password (generated once per DATA_DIR) and keep an
// append-only file, so one that is killed and restarted comes back with its streams and consumer groups.
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
// subpaths, not the platform's barrel: the runner's own start is part of every npm start (issue 19)
import { ensureDatabase } from '@eventtickets/platform/pg-admin';
import { Redis } from '@eventtickets/platform/redis';
import {
  findBinary,
  freePort,
  startPostgres,
  startRedis,
  type PostgresHandle,
  type RedisHandle,
} from '../infra/processes.ts';
import { persistentSecret, readNumber, writeNumber, type DataDir } from './data-dir.ts';
import { databaseUrl } from './plan.ts';

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export interface StackPostgres {
  handle: PostgresHandle;
  url: string;
  initialised: boolean;
  logFile: string;
}

/** Where the cluster in DATA_DIR/postgres will listen, known before it starts (the services can be started
 *  with its URL while it starts): POSTGRES_PORT, else the port recorded last time if free, else a free one. */
export interface PostgresPlan {
  port: number;
  password: string;
  /** The admin URL (database "postgres"), as the started handle's. */
  url: string;
}

export async function planStackPostgres(dataDir: DataDir, requestedPort?: number): Promise<PostgresPlan> {
  const recorded = readNumber(dataDir, 'postgres.port');
  let port = requestedPort;
  if (!port) port = recorded && (await portIsFree(recorded)) ? recorded : await freePort();
  writeNumber(dataDir, 'postgres.port', port);
  const password = persistentSecret(dataDir, 'postgres-password').value;
  return { port, password, url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` };
}

/** Starts the cluster in DATA_DIR/postgres (planStackPostgres, unless a plan is given). */
export async function startStackPostgres(
  dataDir: DataDir,
  requestedPort?: number,
  log?: (line: string) => void,
  plan?: PostgresPlan,
): Promise<StackPostgres> {
  const { port, password } = plan ?? (await planStackPostgres(dataDir, requestedPort));
  const initialised = !existsSync(join(dataDir.postgresDir, 'PG_VERSION'));
  const logFile = join(dataDir.root, 'postgres.log');
  try {
    // durable: fsync, synchronous commit and full-page writes stay on (a committed hold survives a crash)
    const handle = await startPostgres(dataDir.postgresDir, { port, password, logFile, log });
    return { handle, url: handle.url, initialised, logFile };
  } catch (err) {
    throw new Error(
      `embedded Postgres did not start on port ${port} (see ${logFile}): ${(err as Error | undefined)?.message ?? 'exited early'}`,
      { cause: err },
    );
  }
}

/** One database per name (idempotent). */
export async function ensureDatabases(adminUrl: string, names: string[]): Promise<void> {
  for (const name of names) await ensureDatabase(databaseUrl(adminUrl, name));
}

export type RedisMode =
  | { kind: 'external'; urls: string[] }
  | {
      kind: 'local';
      /** With the password: what services get as REDIS_URL. Print `shownUrls` instead. */
      urls: string[];
      shownUrls: string[];
      handles: RedisHandle[];
      passwordFile: string;
      /** Starts master `index` (0-based) again: same port, directory and password. */
      restart: (index: number) => Promise<RedisHandle>;
    }
  | { kind: 'memory'; reason: string };

export const REDIS_PASSWORD_FILE = 'redis-password';

/** A URL without its password, for the terminal. */
export function withoutPassword(url: string): string {
  const u = new URL(url);
  if (!u.password) return url;
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/$/, '');
}

/** STACK_REDIS=memory forces the in-memory mode (what a machine without redis-server gets). */
export async function startStackRedis(
  dataDir: DataDir,
  opts: { redisUrl?: string; force?: string },
): Promise<RedisMode> {
  const urls = (opts.redisUrl ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length) {
    for (const url of urls) await assertReachable(url);
    return { kind: 'external', urls };
  }
  if (opts.force === 'memory') return { kind: 'memory', reason: 'STACK_REDIS=memory' };
  const binary = findBinary('redis-server');
  if (!binary) return { kind: 'memory', reason: 'redis-server not found on PATH' };
  const password = persistentSecret(dataDir, REDIS_PASSWORD_FILE, 24).value;
  const handles: RedisHandle[] = [];
  try {
    for (const index of [1, 2, 3])
      handles.push(await startLocalRedis(binary, dataDir.redisDir(index), password, undefined));
  } catch (err) {
    await Promise.all(handles.map((h) => h.stop()));
    throw err;
  }
  const mode = {
    kind: 'local' as const,
    urls: handles.map((h) => h.url),
    shownUrls: handles.map((h) => withoutPassword(h.url)),
    handles,
    passwordFile: join(dataDir.root, REDIS_PASSWORD_FILE),
    restart: async (index: number) => {
      const handle = await startLocalRedis(binary, dataDir.redisDir(index + 1), password, mode.handles[index].port);
      mode.handles[index] = handle;
      return handle;
    },
  };
  return mode;
}

/** A DATA_DIR from before the append-only file has only RDB snapshots: Redis started with appendonly on and no
 *  AOF would come up empty, so that one start loads the snapshot and turns the AOF on at run time (a rewrite). */
async function startLocalRedis(
  binary: string,
  dir: string,
  password: string,
  port: number | undefined,
): Promise<RedisHandle> {
  const snapshotOnly = !existsSync(join(dir, 'appendonlydir')) && existsSync(join(dir, 'dump.rdb'));
  const handle = await startRedis({ binary, dir, password, port, appendOnly: !snapshotOnly });
  if (snapshotOnly) {
    const client = new Redis(handle.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.config('SET', 'appendonly', 'yes');
    } finally {
      client.disconnect();
    }
  }
  return handle;
}

async function assertReachable(redisUrl: string): Promise<void> {
  const url = new URL(redisUrl);
  const port = Number(url.port || 6379);
  const ok = await new Promise<boolean>((resolve) => {
    const socket = connect(port, url.hostname);
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (!ok) throw new Error(`REDIS_URL entry ${url.host} is not reachable`);
}
