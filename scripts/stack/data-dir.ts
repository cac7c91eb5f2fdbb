// DATA_DIR: everything the local stack keeps between runs (Postgres cluster, Redis dumps, the generated demo
// password, the Postgres port) and the PID file that says what a running stack has started.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isAlive } from '../infra/processes.ts';

export interface DataDir {
  root: string;
  postgresDir: string;
  redisDir: (index: number) => string;
  pidFile: string;
}

/** Creates DATA_DIR world-traversable: as root, Postgres runs as the `postgres` user and must reach it. */
export function openDataDir(dir: string): DataDir {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  return {
    root,
    postgresDir: join(root, 'postgres'),
    redisDir: (index) => {
      const d = join(root, 'redis', String(index));
      mkdirSync(d, { recursive: true });
      return d;
    },
    pidFile: join(root, 'stack.pids'),
  };
}

/** A secret generated on first use and kept (mode 600) so later starts reuse it. */
export function persistentSecret(dataDir: DataDir, file: string, bytes = 12): { value: string; generated: boolean } {
  const path = join(dataDir.root, file);
  if (existsSync(path)) {
    const value = readFileSync(path, 'utf8').trim();
    if (value) return { value, generated: false };
  }
  const value = randomBytes(bytes).toString('base64url');
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { value, generated: true };
}

/** Named secrets kept in DATA_DIR/secrets.json (mode 600): generated on first use, the same on every start. */
export function stackSecrets(dataDir: DataDir, names: string[]): Record<string, string> {
  const path = join(dataDir.root, 'secrets.json');
  let stored: Record<string, string> = {};
  if (existsSync(path)) {
    try {
      stored = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    } catch {
      throw new Error(`${path} is not valid JSON; fix or delete it (services get new secrets)`);
    }
  }
  const missing = names.filter((n) => !stored[n]);
  for (const name of missing) stored[name] = randomBytes(32).toString('base64url');
  if (missing.length) {
    writeFileSync(path, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  return Object.fromEntries(names.map((n) => [n, stored[n]]));
}

export function readNumber(dataDir: DataDir, file: string): number | undefined {
  const path = join(dataDir.root, file);
  if (!existsSync(path)) return undefined;
  const n = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export function writeNumber(dataDir: DataDir, file: string, value: number): void {
  writeFileSync(join(dataDir.root, file), `${value}\n`);
}

/** match: a string its /proc/<pid>/cmdline contains, so a recycled PID is never signalled by mistake. */
export interface StartedProcess {
  name: string;
  pid: number;
  match: string;
}
export interface PidRecord {
  runner: number;
  processes: StartedProcess[];
}

/** Written whole (a temporary file renamed over it): a reader never sees it half written, also while a
 *  restart rewrites it under a running stack. */
export function writePids(dataDir: DataDir, record: PidRecord): void {
  const temporary = `${dataDir.pidFile}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, dataDir.pidFile);
}

export function readPids(dataDir: DataDir): PidRecord | undefined {
  if (!existsSync(dataDir.pidFile)) return undefined;
  try {
    return JSON.parse(readFileSync(dataDir.pidFile, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

export function removePids(dataDir: DataDir): void {
  rmSync(dataDir.pidFile, { force: true });
}

/** The runner of a previous stack on this DATA_DIR, if it is still alive. */
export function runningStack(dataDir: DataDir): PidRecord | undefined {
  const record = readPids(dataDir);
  return record && record.runner !== process.pid && isAlive(record.runner) ? record : undefined;
}

/** Processes a killed runner left behind (its PID file survives); still-alive ones are returned. */
export function leftovers(dataDir: DataDir): StartedProcess[] {
  const record = readPids(dataDir);
  if (!record || isAlive(record.runner)) return [];
  return record.processes.filter((p) => isAlive(p.pid) && commandLine(p.pid).includes(p.match));
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
