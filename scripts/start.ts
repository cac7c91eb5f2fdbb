// `npm start`: the whole platform on this machine, no Docker (see "The local stack contract" in
// docs/DESIGN and README). Ctrl-C or SIGTERM stops everything it started; exit code 0 on a clean stop. A process
// that dies is started again with back-off; one that keeps failing stops everything with exit code 1.
import { enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StackEnv } from './stack/settings.ts';
import type { StackService } from './stack/services.ts';
import type { StackInfo } from './stack/runner.ts';

// The runner's own modules are compiled once, in the cache its services use (scripts/stack/children.ts), not
// stripped of their types and compiled again on every start (issue 19: ~0.15 s of CPU); hence the imports below
// are dynamic, after this line. NODE_COMPILE_CACHE, when set, has enabled it already.
enableCompileCache(process.env.NODE_COMPILE_CACHE || join(tmpdir(), 'eventtickets-node-compile-cache'));

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const print = (line: string) => process.stdout.write(`${line}\n`);
// `npm start | tee log` then Ctrl-C: the reader may be gone first; shutting down matters more than printing
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// Every process the runner starts runs in a session of its own: a terminal's Ctrl-C (SIGINT to the whole
// foreground process group) reaches only this process, which stops the services first, then Redis and Postgres.
await runStackCli();

async function runStackCli(): Promise<void> {
  const [{ ConfigError }, { loadStackEnv }, { DEFAULT_RESTART_POLICY }] = await Promise.all([
    import('@eventtickets/platform/config'),
    import('./stack/settings.ts'),
    import('./stack/restarts.ts'),
  ]);
  let env;
  try {
    env = loadStackEnv(process.env, process.cwd(), repoRoot);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) process.stderr.write(`config error: ${issue.variable} ${issue.message}\n`);
    process.exit(1);
  }

  const { Stack, StackInterrupted } = await import('./stack/runner.ts');

  const registryPath = env.STACK_REGISTRY
    ? resolve(env.STACK_REGISTRY)
    : join(repoRoot, 'scripts', 'stack', 'services.ts');
  const registry = (await import(pathToFileURL(registryPath).href)) as {
    stackServices: StackService[];
    servicesRoot?: string;
  };

  const stack = new Stack({
    repoRoot,
    services: registry.stackServices,
    servicesRoot: registry.servicesRoot ?? join(repoRoot, 'services'),
    dataDir: env.DATA_DIR,
    port: env.PORT,
    serviceBase: env.SERVICE_PORT_BASE,
    postgresPort: env.POSTGRES_PORT,
    redisUrl: env.REDIS_URL.join(','),
    redisMode: env.STACK_REDIS,
    redisPrefix: env.REDIS_PREFIX,
    smtpUrl: env.SMTP_URL,
    demoPassword: env.DEMO_PASSWORD,
    readyTimeoutMs: env.STACK_READY_TIMEOUT_MS,
    stopTimeoutMs: env.STACK_STOP_TIMEOUT_MS,
    print,
    color: process.stdout.isTTY === true && !process.env.NO_COLOR,
    restartPolicy: {
      ...DEFAULT_RESTART_POLICY,
      limit: env.STACK_RESTART_LIMIT,
      windowMs: env.STACK_RESTART_WINDOW_S * 1000,
      initialDelayMs: env.STACK_RESTART_DELAY_MS,
    },
  });

  let exitCode = 0;
  async function shutdown(reason: string, code: number): Promise<never> {
    if (!stack.isStopping) stack.log(`stopping (${reason})...`);
    exitCode = Math.max(exitCode, code);
    await stack.stop();
    stack.log(`stopped; exit code ${exitCode}`);
    process.exit(exitCode);
  }
  // `npm start` forwards the terminal's SIGINT, which this process also receives itself: only a later one is news
  let firstSignalAt = 0;
  for (const s of signals) {
    process.on(s, () => {
      if (!stack.isStopping) {
        firstSignalAt = Date.now();
        void shutdown(s, 0);
      } else if (Date.now() - firstSignalAt > 1000) {
        stack.log(`${s}: already stopping, waiting for the processes to exit`);
      }
    });
  }
  // a bug in the runner must not leave detached children running: stop everything, then fail
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.on(event, (err: unknown) => {
      stack.log(`ERROR: runner ${event}: ${(err as Error)?.stack ?? String(err)}`);
      void shutdown(event, 1);
    });
  }
  stack.onFailure((message) => {
    stack.log(`ERROR: ${message}; stopping the stack`);
    void shutdown('restarts kept failing', 1);
  });

  stack.log(`starting ${registry.stackServices.length} service(s) with data in ${env.DATA_DIR}`);
  try {
    const info = await stack.start();
    printSummary((line) => stack.log(line), env, info, registry.stackServices);
  } catch (err) {
    if (err instanceof StackInterrupted) await shutdown('interrupted', 0);
    stack.log(`ERROR: ${(err as Error).message}`);
    await shutdown('start failed', 1);
  }
}

function printSummary(log: (line: string) => void, env: StackEnv, info: StackInfo, services: StackService[]): void {
  const has = (name: string) => services.some((s) => s.name === name);
  const lines = ['', 'EventTickets is running'];
  if (info.gatewayRegistered) {
    lines.push(`  app            ${info.gatewayUrl}/`, `  Swagger UI     ${info.gatewayUrl}/docs`);
  } else {
    lines.push(
      '  app            (the gateway is not registered in scripts/stack/services.ts yet: no app or Swagger UI)',
    );
  }
  for (const svc of info.services) {
    lines.push(`  ${svc.name.padEnd(14)} ${svc.url}  (metrics ${svc.url}/metrics)`);
    for (const link of svc.links) lines.push(`    ${link.label.padEnd(12)} ${link.url}`);
  }
  if (!info.services.length) lines.push('  services       none registered yet (scripts/stack/services.ts)');
  lines.push(`  postgres       127.0.0.1:${info.postgres.port} (data in ${info.dataDir})`);
  const redis = info.redis;
  if (redis.kind === 'memory') lines.push('  redis          IN-MEMORY MODE (no Redis)');
  else if (redis.kind === 'external') lines.push(`  redis          ${redis.urls.join(', ')}`);
  else lines.push(`  redis          ${redis.shownUrls.join(', ')} (password in ${redis.passwordFile})`);
  if (info.mailbox)
    lines.push(
      `  dev mailbox    ${info.mailbox.url}  (mail and SMS the stack sent; SMTP sink ${info.mailbox.smtpUrl})`,
    );
  else if (has('notifications')) lines.push(`  e-mail         sent through SMTP_URL`);
  else lines.push('  e-mail         none yet: the notifications service is not registered');
  // Traces of every request (one per purchase across the services): the services inherit these variables.
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT)
    lines.push(`  traces         OTLP to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT} (e.g. Jaeger all-in-one on :4318)`);
  else if (process.env.OTEL_TRACES_EXPORTER === 'console')
    lines.push('  traces         one line per span in the service logs (OTEL_TRACES_EXPORTER=console)');
  else
    lines.push(
      '  traces         not exported: set OTEL_EXPORTER_OTLP_ENDPOINT (Jaeger, collector) or OTEL_TRACES_EXPORTER=console',
    );
  if (info.demoAccounts.length)
    lines.push(`  demo accounts  ${info.demoAccounts.map((a) => `${a.email} (${a.role})`).join(', ')}`);
  else if (has('users')) lines.push('  demo accounts  none');
  else lines.push('  demo accounts  none yet: the users service is not registered');
  // printed once, when generated: later starts say where it is, not what it is
  const passwordFile = join(info.dataDir, 'demo-password');
  if (info.demoPasswordGenerated)
    lines.push(`  demo password  ${info.demoPassword}  (generated now, kept in ${passwordFile})`);
  else if (env.DEMO_PASSWORD) lines.push('  demo password  the value of DEMO_PASSWORD');
  else lines.push(`  demo password  kept in ${passwordFile} (shown once, when it was generated)`);
  lines.push('');
  for (const line of lines) log(line);
  log(`ready: ${info.gatewayUrl} (Ctrl-C stops everything)`);
}
