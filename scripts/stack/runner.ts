// The local stack runner: embedded Postgres, Redis (or the in-memory mode), every registered service as a
// child process (all at once, each awaited on /readyz), the demo seeds. Every process it starts is
// supervised as Kubernetes would: one that dies (a service, a redis-server, Postgres) is logged and started
// again after a back-off (restarts.ts); when one keeps failing the runner gives up (onFailure) and the CLI
// stops the stack. stop() is safe at any moment (also halfway through start()) and never leads to a restart.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, isAlive, type ExitInfo } from '../infra/processes.ts';
import type { StackService } from './services.ts';
import {
  leftovers,
  openDataDir,
  persistentSecret,
  removePids,
  runningStack,
  stackSecrets,
  writePids,
  type DataDir,
  type StartedProcess,
} from './data-dir.ts';
import {
  ensureDatabases,
  planStackPostgres,
  portIsFree,
  startStackPostgres,
  startStackRedis,
  type RedisMode,
  type StackPostgres,
} from './infra.ts';
import { hasExited, spawnService, stopService, waitForReady, type ServiceChild } from './children.ts';
import { DEFAULT_RESTART_POLICY, describeExit, nextRestart, type RestartPolicy } from './restarts.ts';
import { prefixer } from './log-format.ts';
import {
  BUS_DATABASE,
  databaseName,
  isGateway,
  localUrl,
  RUNNER_OWNED_VARIABLES,
  serviceEnv,
  servicePort,
  startOrder,
  devMailPorts,
  type StackSettings,
} from './plan.ts';
import { startMailSink, type MailSink } from './mail-sink.ts';

export interface StackOptions {
  repoRoot: string;
  services: StackService[];
  /** Where service folders live (services/ of the repository; tests point it at fixtures). */
  servicesRoot: string;
  dataDir: string;
  /** Gateway port; 0 picks a free one. */
  port: number;
  serviceBase?: number;
  postgresPort?: number;
  redisUrl?: string;
  /** STACK_REDIS: "memory" forces the in-memory mode. */
  redisMode?: string;
  redisPrefix: string;
  smtpUrl?: string;
  demoPassword?: string;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  /** Where every line goes (stdout in the CLI). */
  print: (line: string) => void;
  /** Colour the name column (a terminal without NO_COLOR). */
  color?: boolean;
  /** When a process that died is started again, and when the runner gives up (default: restarts.ts). */
  restartPolicy?: RestartPolicy;
}

/** One run of a supervised process: its PID and how it ended (or why it could not be started). */
interface Incarnation {
  pid?: number;
  exited: Promise<ExitInfo | { failed: string }>;
}

export interface StackInfo {
  gatewayUrl: string;
  gatewayRegistered: boolean;
  services: { name: string; url: string; links: { label: string; url: string }[] }[];
  demoPassword: string;
  demoPasswordGenerated: boolean;
  /** The accounts the services create with the demo password (registry `demoAccounts` modules). */
  demoAccounts: { email: string; role: string }[];
  postgres: { url: string; initialised: boolean; port: number };
  /** The dev mail sink, when the runner started one (no SMTP_URL and a service with `devMail`). */
  mailbox?: { url: string; smtpUrl: string };
  redis: RedisMode;
  dataDir: string;
}

export class StackInterrupted extends Error {}

export class Stack {
  readonly options: StackOptions;
  private readonly prefix: (name: string) => string;
  private data?: DataDir;
  private postgres?: StackPostgres;
  /** Postgres starting (and its databases being created) while the services load. */
  private postgresStarting?: Promise<void>;
  private redis?: RedisMode;
  private mailSink?: MailSink;
  private children: ServiceChild[] = [];
  private stopping?: Promise<void>;
  private stopRequested = false;
  /** Aborted by stop(): ends every back-off pause at once. */
  private readonly stopSignal = new AbortController();
  /** Restarts in flight (stop() waits for them, then stops what they started). */
  private readonly restarts = new Set<Promise<unknown>>();
  /** Who waits for a service's next run (start() waiting for readiness across restarts). */
  private respawnWaiters = new Map<string, Array<() => void>>();
  private started = false;
  private readonly gaveUp = new Set<string>();
  private failureHandlers: Array<(message: string) => void> = [];

  constructor(options: StackOptions) {
    this.options = options;
    this.prefix = prefixer(
      [
        'stack',
        ...options.services.map((s) => s.name),
        ...options.services.filter((s) => s.seed).map((s) => `seed:${s.name}`),
      ],
      options.color,
    );
  }

  /** Lines from the runner itself. */
  log(message: string, from = 'stack'): void {
    for (const line of message.split('\n')) this.options.print(`${this.prefix(from)}${line}`);
  }

  /** Called once when the runner gives up on a process that keeps failing (the stack is not stopped yet). */
  onFailure(handler: (message: string) => void): void {
    this.failureHandlers.push(handler);
  }

  get isStopping(): boolean {
    return this.stopRequested;
  }

  async start(): Promise<StackInfo> {
    const o = this.options;
    const data = openDataDir(o.dataDir);
    const previous = runningStack(data);
    if (previous)
      throw new Error(
        `a stack is already running on ${data.root} (runner PID ${previous.runner}); stop it first or use another DATA_DIR`,
      );
    await this.stopLeftovers(data);
    this.data = data;
    this.recordPids();

    const demo = o.demoPassword ? { value: o.demoPassword, generated: false } : persistentSecret(data, 'demo-password');
    const ordered = startOrder(o.services);
    const gatewayPort = o.port || (await freePort());
    const ports = { gatewayPort, serviceBase: o.serviceBase };
    const busy: string[] = [];
    for (const svc of ordered) {
      const port = servicePort(svc, ports);
      if (!(await portIsFree(port))) busy.push(`${port} (${svc.name})`);
    }
    if (busy.length)
      throw new Error(`port(s) in use: ${busy.join(', ')}; set PORT / SERVICE_PORT_BASE or stop what holds them`);

    this.checkpoint();
    // Redis first (a fraction of a second), then Postgres starts while the services load their code, most of a
    // service's start: each waits for its database (migrate() waits for it), created here once Postgres is up.
    this.redis = await startStackRedis(data, { redisUrl: o.redisUrl, force: o.redisMode });
    this.recordPids();
    const redis = this.redis;
    if (redis.kind === 'local')
      redis.handles.forEach((h, i) =>
        this.supervise(`redis-${i + 1}`, incarnationOf(h), async () => {
          const handle = await redis.restart(i);
          return { desc: `port ${handle.port}`, run: incarnationOf(handle) };
        }),
      );
    if (this.redis.kind === 'memory') {
      this.log('!!! IN-MEMORY MODE: no Redis (' + this.redis.reason + ').');
      this.log('!!! Services get no REDIS_URL; the event bus runs on the Postgres database "bus" (BUS_DATABASE_URL),');
      this.log('!!! locks and rate limits are single-node. Install redis-server or set REDIS_URL for the real thing.');
    } else {
      this.log(
        this.redis.kind === 'local'
          ? `redis: 3 local redis-server (data in ${join(data.root, 'redis')}, password in ${this.redis.passwordFile}): ${this.redis.shownUrls.join(', ')}`
          : `redis: REDIS_URL: ${this.redis.urls.join(', ')}`,
      );
    }

    // the bus database first: a service may use it as soon as its own database exists
    const databases = o.services.filter((s) => s.database).map(databaseName);
    if (this.redis.kind === 'memory') databases.unshift(BUS_DATABASE);
    this.checkpoint();
    const postgresPlan = await planStackPostgres(data, o.postgresPort);
    this.postgresStarting = (async () => {
      const postgres = await startStackPostgres(data, undefined, (line) => this.log(line), postgresPlan);
      this.postgres = postgres;
      this.recordPids();
      this.supervise('postgres', incarnationOf(postgres.handle), async () => {
        const port = this.postgres!.handle.port;
        this.postgres = { ...(await startStackPostgres(data, port, (line) => this.log(line))), initialised: false };
        return { desc: `port ${port}`, run: incarnationOf(this.postgres.handle) };
      });
      this.log(
        `postgres: ${postgres.initialised ? 'initialised a new cluster' : 'reusing the cluster'} in ${data.postgresDir} on port ${postgres.handle.port}`,
      );
      if (this.isStopping) return;
      await ensureDatabases(postgres.url, databases);
    })();
    this.postgresStarting.catch(() => undefined); // awaited after the services are launched (a failure stops all)

    const settings: StackSettings = {
      ports,
      postgresUrl: postgresPlan.url,
      redisUrls: this.redis.kind === 'memory' ? [] : this.redis.urls,
      redisPrefix: o.redisPrefix,
      demoPassword: demo.value,
      smtpUrl: o.smtpUrl,
      secrets: stackSecrets(data, [...new Set(o.services.flatMap((svc) => svc.secrets ?? []))]),
    };
    // a secret set in the runner's own environment wins over the generated one
    for (const name of Object.keys(settings.secrets!))
      if (process.env[name]) settings.secrets![name] = process.env[name]!;
    // Without SMTP_URL, mail and SMS go to the runner's sink, shown on the dev mailbox page (dev only: never in
    // an image). Its SMS endpoint checks the signature with the SMS_HTTP_SECRET the services get.
    if (!o.smtpUrl && o.services.some((s) => s.devMail)) {
      const mailPorts = devMailPorts(ports);
      this.mailSink = await startMailSink({
        smtpPort: mailPorts.smtp,
        httpPort: mailPorts.http,
        smsSecret: settings.secrets!.SMS_HTTP_SECRET ?? 'unsigned-dev-sms-secret-0123456789abcdef',
      });
      settings.smtpUrl = this.mailSink.smtpUrl;
      settings.devMail = { smsUrl: this.mailSink.smsUrl };
      this.log(
        `mail: no SMTP_URL: local SMTP sink at ${this.mailSink.smtpUrl}, dev mailbox ${this.mailSink.mailboxUrl}`,
      );
    }
    const inherited = { ...process.env };
    for (const name of RUNNER_OWNED_VARIABLES) delete inherited[name];
    const tracingRegister = join(o.repoRoot, 'services', 'platform', 'src', 'tracing-register.ts');

    // Services start together, the gateway too (they must tolerate each other being briefly absent, as in
    // Kubernetes).
    // A service that dies, also during the start, is started again (supervise); the start waits for it to be
    // ready across those restarts, within STACK_READY_TIMEOUT_MS.
    const launch = async (svc: StackService): Promise<void> => {
      this.checkpoint();
      const url = localUrl(servicePort(svc, ports));
      const spawnOne = () =>
        spawnService({
          name: svc.name,
          dir: join(o.servicesRoot, svc.dir),
          url,
          env: { ...inherited, ...serviceEnv(svc, o.services, settings) },
          tracingRegister,
          print: (line) => this.options.print(`${this.prefix(svc.name)}${line}`),
        });
      this.children.push(spawnOne());
      this.recordPids();
      this.supervise(
        svc.name,
        incarnationOf(this.serviceChild(svc.name)),
        async () => {
          const child = spawnOne();
          this.children = this.children.map((c) => (c.name === svc.name ? child : c));
          this.wakeRespawnWaiters(svc.name);
          if (this.started)
            waitForReady(child, o.readyTimeoutMs).then(
              () => this.log(`${svc.name} ready again at ${url}`),
              () => undefined, // its exit is the supervisor's to report
            );
          return { desc: `at ${url}`, run: incarnationOf(child) };
        },
        () => this.serviceChild(svc.name).recent,
      );
      const deadline = Date.now() + o.readyTimeoutMs;
      for (;;) {
        const child = this.serviceChild(svc.name);
        try {
          await waitForReady(child, Math.max(0, deadline - Date.now()));
          break;
        } catch (err) {
          if (this.isStopping) throw new StackInterrupted('stopped during start');
          if (!hasExited(child) || Date.now() >= deadline || this.gaveUp.has(svc.name))
            throw new Error(`${(err as Error).message}\nlast output of ${svc.name}:\n  ${child.recent.join('\n  ')}`, {
              cause: err,
            });
          await this.nextRespawn(svc.name); // or the stop, once the runner gives up
          this.checkpoint();
          if (this.gaveUp.has(svc.name)) throw new Error(`${svc.name} kept failing during the start`, { cause: err });
        }
      }
      this.log(`${svc.name} ready at ${url}`);
    };
    // The gateway's readiness is its own (Redis); it fetches the users JWKS and the contracts when first needed.
    // Starting it after the others added its whole start to every npm start; the stack is ready when all are.
    const launching = Promise.all(ordered.map(launch));
    launching.catch(() => undefined); // awaited below, after Postgres: a failed Postgres start is the news
    await this.postgresStarting;
    await launching;
    this.started = true;

    const gatewayUrl = localUrl(gatewayPort);
    for (const svc of ordered.filter((s) => s.seed)) {
      this.checkpoint();
      const modulePath = join(o.servicesRoot, svc.dir, svc.seed!);
      const seed = (await import(pathToFileURL(modulePath).href)) as {
        seedDemo?: (ctx: { gatewayUrl: string; demoPassword: string; log: (msg: string) => void }) => Promise<void>;
      };
      if (typeof seed.seedDemo !== 'function') throw new Error(`${modulePath} does not export seedDemo()`);
      await seed.seedDemo({ gatewayUrl, demoPassword: demo.value, log: (msg) => this.log(msg, `seed:${svc.name}`) });
    }
    const demoAccounts: StackInfo['demoAccounts'] = [];
    for (const svc of ordered.filter((s) => s.demoAccounts)) {
      const modulePath = join(o.servicesRoot, svc.dir, svc.demoAccounts!);
      const mod = (await import(pathToFileURL(modulePath).href)) as { demoAccounts?: StackInfo['demoAccounts'] };
      if (!Array.isArray(mod.demoAccounts)) throw new Error(`${modulePath} does not export demoAccounts`);
      demoAccounts.push(...mod.demoAccounts.map(({ email, role }) => ({ email, role })));
    }
    this.checkpoint();

    return {
      gatewayUrl,
      gatewayRegistered: o.services.some(isGateway),
      services: ordered.map((svc) => {
        const url = localUrl(servicePort(svc, ports));
        return {
          name: svc.name,
          url,
          links: (svc.links ?? []).map((l) => ({ label: l.label, url: `${url}${l.path}` })),
        };
      }),
      demoPassword: demo.value,
      demoPasswordGenerated: demo.generated,
      demoAccounts,
      postgres: { url: this.postgres!.url, initialised: this.postgres!.initialised, port: this.postgres!.handle.port },
      mailbox: this.mailSink ? { url: this.mailSink.mailboxUrl, smtpUrl: this.mailSink.smtpUrl } : undefined,
      redis: this.redis,
      dataDir: data.root,
    };
  }

  /** Stops services (gateway first, then the rest together), then Redis, then Postgres. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopRequested = true; // before anything exits: no exit from here on is a failure
      this.stopSignal.abort();
      for (const name of [...this.respawnWaiters.keys()]) this.wakeRespawnWaiters(name);
      this.stopping = this.stopAll();
    }
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    // a restart under way finishes first, so that what it started is stopped below
    await Promise.allSettled([...this.restarts]);
    const timeout = this.options.stopTimeoutMs;
    const report = (child: ServiceChild) => (result: 'stopped' | 'killed') => {
      if (result === 'killed') this.log(`${child.name} did not stop within ${timeout} ms: killed`);
    };
    for (const child of this.children.filter((c) => c.name === 'gateway'))
      await stopService(child, timeout).then(report(child));
    await Promise.all(
      this.children
        .filter((c) => c.name !== 'gateway')
        .reverse()
        .map((c) => stopService(c, timeout).then(report(c))),
    );
    await this.mailSink?.close().catch(() => undefined);
    if (this.redis?.kind === 'local') await Promise.all(this.redis.handles.map((h) => h.stop()));
    await this.postgresStarting?.catch(() => undefined); // a Postgres still starting is stopped once started
    await this.postgres?.handle.stop();
    if (this.data) removePids(this.data);
  }

  private checkpoint(): void {
    if (this.isStopping) throw new StackInterrupted('stopped during start');
  }

  private fail(message: string): void {
    const handlers = this.failureHandlers;
    this.failureHandlers = [];
    for (const handler of handlers) handler(message);
  }

  /** Watches one process: when it dies while the stack is not stopping, logs it and starts it again after
   *  the back-off, or gives up (fail) when it has failed `limit` times within the window. */
  private supervise(
    name: string,
    first: Incarnation,
    restart: () => Promise<{ desc: string; run: Incarnation }>,
    lastOutput?: () => string[],
  ): void {
    const policy = this.options.restartPolicy ?? DEFAULT_RESTART_POLICY;
    const failures: number[] = [];
    const windowS = Math.round(policy.windowMs / 1000);
    const loop = async (): Promise<void> => {
      let current = first;
      for (;;) {
        const outcome = await current.exited;
        if (this.isStopping) return;
        const what =
          'failed' in outcome
            ? `could not be started again (${outcome.failed})`
            : `(PID ${current.pid}) exited unexpectedly (${describeExit(outcome)})`;
        failures.push(Date.now());
        const decision = nextRestart(failures, Date.now(), policy);
        if (decision.giveUp) {
          const output = lastOutput?.() ?? [];
          if (output.length) this.log(`last output of ${name}:\n  ${output.join('\n  ')}`);
          this.gaveUp.add(name);
          this.wakeRespawnWaiters(name);
          this.fail(
            `${name} ${what}; it failed ${decision.failures} times within ${windowS} s (STACK_RESTART_LIMIT ${policy.limit}, STACK_RESTART_WINDOW_S ${windowS}): giving up`,
          );
          return;
        }
        this.log(
          `${name} ${what}; restarting it in ${decision.delayMs} ms (failure ${decision.failures} of ${policy.limit} within ${windowS} s)`,
        );
        await this.pause(decision.delayMs);
        if (this.isStopping) return;
        const attempt = restart();
        this.restarts.add(attempt);
        try {
          const next = await attempt;
          current = next.run;
          this.recordPids();
          this.log(`${name} restarted (PID ${current.pid}) ${next.desc}`);
        } catch (err) {
          current = { exited: Promise.resolve({ failed: (err as Error).message.split('\n')[0] }) };
        } finally {
          this.restarts.delete(attempt);
        }
      }
    };
    loop().catch((err: unknown) => this.fail(`supervising ${name}: ${(err as Error).message}`));
  }

  /** Resolves after ms, or at once when the stack stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stopSignal.signal;
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }

  private serviceChild(name: string): ServiceChild {
    return this.children.find((c) => c.name === name)!;
  }

  private nextRespawn(name: string): Promise<void> {
    if (this.isStopping || this.gaveUp.has(name)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.respawnWaiters.get(name) ?? [];
      list.push(resolve);
      this.respawnWaiters.set(name, list);
    });
  }

  private wakeRespawnWaiters(name: string): void {
    const list = this.respawnWaiters.get(name) ?? [];
    this.respawnWaiters.delete(name);
    for (const wake of list) wake();
  }

  private infrastructurePids(): StartedProcess[] {
    const list: StartedProcess[] = [];
    if (this.postgres?.handle.pid) list.push({ name: 'postgres', pid: this.postgres.handle.pid, match: 'postgres' });
    if (this.redis?.kind === 'local')
      this.redis.handles.forEach((h, i) => list.push({ name: `redis-${i + 1}`, pid: h.pid, match: 'redis-server' }));
    return list;
  }

  private recordPids(): void {
    if (!this.data) return;
    const services = this.children
      .filter((c) => c.process.pid)
      .map((c) => ({ name: c.name, pid: c.process.pid!, match: c.entry }));
    writePids(this.data, { runner: process.pid, processes: [...this.infrastructurePids(), ...services] });
  }

  /** A runner killed with SIGKILL cannot clean up. Its services stop by themselves (tether.ts), and so do
   *  Postgres and Redis where setpriv exists (Linux); anything still alive is stopped here, Postgres last. */
  private async stopLeftovers(data: DataDir): Promise<void> {
    const left = leftovers(data);
    if (!left.length) return;
    this.log(
      `stopping ${left.length} process(es) left by a previous run: ${left.map((p) => `${p.name}:${p.pid}`).join(', ')}`,
    );
    const order = [...left.filter((p) => p.name !== 'postgres'), ...left.filter((p) => p.name === 'postgres')];
    for (const p of order) {
      try {
        process.kill(p.pid, p.name === 'postgres' ? 'SIGINT' : 'SIGTERM'); // SIGINT: Postgres "fast" shutdown
      } catch {
        continue;
      }
      const deadline = Date.now() + this.options.stopTimeoutMs;
      while (isAlive(p.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (isAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
    }
    removePids(data);
  }
}

function incarnationOf(p: { pid?: number; exited: Promise<ExitInfo> } | ServiceChild): Incarnation {
  return 'process' in p ? { pid: p.process.pid, exited: p.exited } : { pid: p.pid, exited: p.exited };
}
