// Test helper: runs `node scripts/start.ts` as a real child process and reads its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'et-stack-'));
  chmodSync(dir, 0o755); // as root, Postgres runs as `postgres` and must reach DATA_DIR
  return dir;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/** A base port with base..base+9 all free (the runner adds the registry offsets to it). */
export async function freePortRange(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // below the kernel's ephemeral range (32768+), where other suites' free ports come from
    const base = 20_000 + Math.floor(Math.random() * 1_200) * 10;
    const checks = await Promise.all(Array.from({ length: 10 }, (_, i) => portFree(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

export interface StackRecord {
  runner: number;
  processes: { name: string; pid: number }[];
}

export class StackProcess {
  readonly child: ChildProcess;
  readonly dataDir: string;
  output = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  /** command: how to run the runner (default `node scripts/start.ts`; a test may wrap it in a terminal). */
  constructor(
    env: Record<string, string>,
    dataDir: string,
    command: string[] = [process.execPath, join(repoRoot, 'scripts', 'start.ts')],
  ) {
    this.dataDir = dataDir;
    const inherited = { ...process.env };
    // the runner decides these per service; never leak the test run's own values into it
    for (const k of [
      'PORT',
      'DATABASE_URL',
      'REDIS_URL',
      'BUS_DATABASE_URL',
      'SMTP_URL',
      'DEMO_PASSWORD',
      'SERVICE_PORT_BASE',
      'STACK_REGISTRY',
      'STACK_REDIS',
      'POSTGRES_PORT',
    ])
      delete inherited[k];
    this.child = spawn(command[0], command.slice(1), {
      cwd: repoRoot,
      env: { ...inherited, LOG_LEVEL: 'info', DATA_DIR: dataDir, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      for (const w of this.waiters.splice(0)) w();
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((res) =>
      this.child.once('exit', (code) => {
        for (const w of this.waiters.splice(0)) w();
        res(code);
      }),
    );
  }

  /** Resolves with the match once the output contains pattern; rejects if the runner exits first. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `runner exited (${this.child.exitCode ?? this.child.signalCode}) before ${pattern}; output:\n${this.output}`,
        );
      }
      await new Promise<void>((res) => this.waiters.push(res));
    }
  }

  /** Waits for the ready line and returns the gateway URL it names. */
  async ready(): Promise<string> {
    return (await this.waitFor(/\| ready: (http:\/\/\S+)/))[1];
  }

  pids(): StackRecord {
    const file = join(this.dataDir, 'stack.pids');
    if (!existsSync(file)) throw new Error(`no ${file}; output:\n${this.output}`);
    return JSON.parse(readFileSync(file, 'utf8')) as StackRecord;
  }

  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Whether a PID still runs (the stack's own check). */
export { isAlive as alive } from '../infra/processes.ts';

/** The first reply line of a local redis-server to one inline command (after AUTH when a password is given):
 *  "+PONG", "-NOAUTH Authentication required.". A raw socket, so no client library retries or hides it. */
export function redisReply(port: number, command: string, password?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let skip = password ? 1 : 0; // the AUTH reply
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`redis on ${port}: no reply to ${command}`));
    });
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (skip > 0) {
          skip--;
          if (!line.startsWith('+OK')) {
            socket.destroy();
            return resolvePromise(line);
          }
          continue;
        }
        socket.destroy();
        return resolvePromise(line);
      }
    });
    socket.once('connect', () => {
      if (password) socket.write(`AUTH ${JSON.stringify(password)}\r\n`);
      socket.write(`${command}\r\n`);
    });
  });
}

/** Every PID the runner names in its output ("(PID 123)"): the runs of a process it restarted included. */
export function pidsInOutput(output: string): number[] {
  return [...new Set([...output.matchAll(/\(PID (\d+)\)/g)].map((m) => Number(m[1])))];
}
