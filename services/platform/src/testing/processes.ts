// Process helpers for tests: the local stack's own (scripts/infra/processes.ts: free ports, stopping a child,
// finding a binary), re-exported so tests reach them through the test kit; and the one way a test starts a
// service's real entry point (src/main.ts) as a child process. Both are dev-only: nothing here ships.
import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild } from '../../../../scripts/infra/processes.ts';
import { waitFor } from './wait.ts';

export { findBinary, freePort, isAlive, stopChild } from '../../../../scripts/infra/processes.ts';

export interface ServiceProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> the service listens on (PORT=0: the one it chose, from its "listening" line). */
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  /** Waits for probe while the process runs; fails at once, with its output, when it has exited. */
  whileRunning: <T>(what: string, probe: () => Promise<T | undefined | null | false>) => Promise<T>;
  /** SIGTERM (SIGKILL after 5 s); resolves with the exit code once it has exited. */
  stop: () => Promise<number | null>;
}

/**
 * Spawns `node mainFile` with env on top of the test's own environment (PORT=0 and HOST=127.0.0.1 unless
 * given) and waits until its `<service> listening` line and a 200 from /readyz (a generous bound, not a goal).
 */
export async function startServiceProcess(
  service: string,
  mainFile: string,
  env: Record<string, string>,
  opts: { timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  let log = '';
  const child = spawn(process.execPath, [mainFile], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const output = () => log;
  let exitCode: Promise<number | null> | undefined;
  const stop = () =>
    (exitCode ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await stopChild(child);
      return exited;
    })());
  const whileRunning = <T>(what: string, probe: () => Promise<T | undefined | null | false>) =>
    waitFor<T>(
      what,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `${service} exited (${child.exitCode ?? child.signalCode}) while waiting for ${what}:\n${log}`,
          );
        return probe();
      },
      { timeoutMs: opts.timeoutMs ?? 60_000 },
    );
  try {
    const url = await whileRunning(`the "${service} listening" line`, async () => {
      const line = log.split('\n').find((l) => l.includes(`"${service} listening"`));
      return line ? (JSON.parse(line).url as string) : undefined;
    });
    await whileRunning(`${service} /readyz`, () =>
      fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      ),
    );
    return { child, url, output, whileRunning, stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
  }
}
