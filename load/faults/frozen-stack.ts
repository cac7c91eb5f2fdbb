// The whole local stack (`npm start`, the real runner and every service as its own process) on three
// redis-server masters started here, so that one of them can be frozen (SIGSTOP, as a hung VM or a stalled
// disk would) and thawed (SIGCONT) by its PID. Shared by the fault test (e2e/frozen-master.test.ts) and the
// benchmark (load/faults/frozen-master.ts). Loopback only.
import { rmSync } from 'node:fs';
import { gatewayApi } from '@eventtickets/platform/testing';
import { startRedis, type RedisHandle } from '../../scripts/infra/processes.ts';
import { StackProcess, freePortRange, tempDataDir } from '../../scripts/test/stack-process.ts';

export const DEMO_PASSWORD = 'frozen-master-demo-123';

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  ms: number;
}

export interface FrozenStack {
  gateway: string;
  masters: RedisHandle[];
  /** SIGSTOP master i (0 carries streams, pub/sub, the catalog cache and the rate limits). */
  freeze(i: number): void;
  /** SIGCONT every master (idempotent). */
  thawAll(): void;
  /** One call through the gateway; aborted (and thrown) after abortMs. */
  api(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; abortMs?: number; headers?: Record<string, string> },
  ): Promise<Reply>;
  login(email?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startFrozenStack(env: Record<string, string> = {}): Promise<FrozenStack> {
  const masters: RedisHandle[] = [];
  const frozen = new Set<number>();
  let stack: StackProcess | undefined;
  const dataDir = tempDataDir();
  const thawAll = () => {
    for (const i of frozen) process.kill(masters[i].pid, 'SIGCONT');
    frozen.clear();
  };
  const stop = async () => {
    thawAll(); // a stopped process ignores SIGTERM until it runs again
    if (stack) await stack.stop('SIGINT');
    await Promise.all(masters.map((m) => m.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) masters.push(await startRedis());
    stack = new StackProcess(
      {
        PORT: '0',
        SERVICE_PORT_BASE: String(await freePortRange()),
        DEMO_PASSWORD,
        REDIS_URL: masters.map((m) => m.url).join(','),
        LOG_LEVEL: 'warn',
        ...env,
      },
      dataDir,
    );
    const gateway = await stack.ready();
    const call = gatewayApi(gateway);
    const api: FrozenStack['api'] = async (method, path, opts = {}) => {
      const started = performance.now();
      const reply = await call(method, path, { ...opts, abortMs: opts.abortMs ?? 5000 });
      return { ...reply, ms: performance.now() - started };
    };
    const login = async (email = 'buyer@example.com') => {
      const res = await api('POST', '/api/auth/login', { body: { email, password: DEMO_PASSWORD } });
      if (res.status !== 200) throw new Error(`login answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.accessToken as string;
    };
    return {
      gateway,
      masters,
      freeze: (i) => {
        process.kill(masters[i].pid, 'SIGSTOP');
        frozen.add(i);
      },
      thawAll,
      api,
      login,
      stop,
    };
  } catch (err) {
    const output = stack?.output ?? '';
    await stop();
    throw new Error(`${(err as Error).message}\n${output.slice(-4000)}`, { cause: err });
  }
}

/** The seeded "Harbour Lights Orchestra" event and its available seats, once inventory has materialised it. */
export async function demoEventSeats(
  s: FrozenStack,
  waitFor: <T>(what: string, probe: () => Promise<T | undefined>) => Promise<T>,
): Promise<{ eventId: string; free: string[] }> {
  const events = await s.api('GET', '/api/events?q=Orchestra');
  const event = events.body?.items?.find((e: any) => e.title === 'Harbour Lights Orchestra');
  if (!event) throw new Error(`no seeded event: ${events.status} ${JSON.stringify(events.body)}`);
  const seats = await waitFor('availability from inventory', async () => {
    const res = await s.api('GET', `/api/events/${event.id}/availability`);
    return res.status === 200 && Object.keys(res.body.seats).length > 0
      ? (res.body.seats as Record<string, string>)
      : undefined;
  });
  return {
    eventId: event.id,
    free: Object.entries(seats)
      .filter(([, state]) => state === 'available')
      .map(([id]) => id),
  };
}
