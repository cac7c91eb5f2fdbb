// Service children: each registered service runs as its own Node process, with its output prefixed. Each runs
// in a session of its own, so a terminal's Ctrl-C reaches only the runner, which then stops them in order; and
// each is tied to the runner by its stdin (tether.ts), so a runner that dies outright takes them with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatLogLine, lineSplitter } from './log-format.ts';

export interface ServiceChild {
  name: string;
  url: string;
  process: ChildProcess;
  /** The script path, recorded in the PID file to recognise the process later. */
  entry: string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last output lines, shown when it fails to start. */
  recent: string[];
}

export interface SpawnOptions {
  name: string;
  /** The service folder (holding src/main.ts). */
  dir: string;
  url: string;
  env: NodeJS.ProcessEnv;
  /** Platform tracing preload; used when the file exists. */
  tracingRegister: string;
  print: (line: string) => void;
}

/** V8 options every service runs with (the image's Dockerfile sets the same NODE_OPTIONS). */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=4';

export function spawnService(opts: SpawnOptions): ServiceChild {
  const entry = join(opts.dir, 'src', 'main.ts');
  if (!existsSync(entry)) throw new Error(`${opts.name}: ${entry} does not exist`);
  const tether = fileURLToPath(new URL('./tether.ts', import.meta.url));
  const args = [
    '--import',
    tether,
    ...(existsSync(opts.tracingRegister) ? ['--import', opts.tracingRegister] : []),
    entry,
  ];
  // stdin: the tether (the runner never writes to it; its end closes when the runner dies)
  const child = spawn(process.execPath, args, {
    cwd: opts.dir,
    // Node's compile cache (keyed by content and Node version, safe to share): a start after the first reuses the
    // type-stripped and compiled code of every module instead of stripping the TypeScript again (seconds of a
    // start on a loaded machine, and the stripper's WebAssembly memory); the runner's environment may move it
    env: {
      NODE_COMPILE_CACHE: join(tmpdir(), 'eventtickets-node-compile-cache'),
      // glibc's malloc keeps an arena per thread (V8's compiler and GC helpers, the libuv pool) and the freed memory
      // in it; two arenas: 3-6 MiB less idle RSS per service, no more CPU per request (load/RESULTS.md "Second
      // pass"); the image sets the same. The runner's environment wins.
      MALLOC_ARENA_MAX: '2',
      ...opts.env,
      // V8's young generation grows to ~40 MiB per process by default; 4 MiB semi-spaces keep an idle service
      // near 120 MiB (load/RESULTS.md "Footprint"); the image sets the same. NODE_OPTIONS of the runner's
      // environment come after it, so a different --max-semi-space-size there wins.
      NODE_OPTIONS: `${SERVICE_NODE_OPTIONS} ${opts.env.NODE_OPTIONS ?? ''}`.trim(),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin!.on('error', () => undefined);
  const recent: string[] = [];
  const onLine = (line: string) => {
    const text = formatLogLine(line);
    recent.push(text);
    if (recent.length > 30) recent.shift();
    opts.print(text);
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    const splitter = lineSplitter(onLine);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => splitter.push(chunk));
    stream.on('end', () => splitter.end());
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: child.exitCode ?? -1, signal: null }));
  });
  return { name: opts.name, url: opts.url, process: child, entry, exited, recent };
}

export function hasExited(child: ServiceChild): boolean {
  return child.process.exitCode !== null || child.process.signalCode !== null;
}

/** Polls GET /readyz until 200; fails when the child exits first or the deadline passes. */
export async function waitForReady(child: ServiceChild, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited || hasExited(child)) {
      const { code, signal } = await child.exited;
      throw new Error(`${child.name} exited during start (${signal ?? `code ${code}`})`);
    }
    let listening = false;
    try {
      const res = await fetch(`${child.url}/readyz`, { signal: AbortSignal.timeout(3000) });
      listening = true;
      if (res.status === 200) return;
      last = `readyz ${res.status}: ${(await res.text()).slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    // A short poll once it answers: the stack is ready as soon as its last service is (a 200 ms poll added up to
    // 0.4 s). Before it listens (loading its code, migrating: most of its start) a slower one: seven services
    // polled every 50 ms from their spawn cost the runner ~1 s of CPU per start on a loaded machine (issue 19).
    await new Promise((r) => setTimeout(r, listening ? 50 : 150));
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms (${last})`);
}

/** SIGTERM, then SIGKILL after timeoutMs; resolves once the process is gone. */
export async function stopService(child: ServiceChild, timeoutMs: number): Promise<'stopped' | 'killed'> {
  if (hasExited(child)) return 'stopped';
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.process.kill('SIGKILL');
  }, timeoutMs);
  child.process.kill('SIGTERM');
  await child.exited;
  clearTimeout(timer);
  return killed ? 'killed' : 'stopped';
}
