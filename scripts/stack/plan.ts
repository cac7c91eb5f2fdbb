// The stack plan: pure functions that turn the registry and the runner's settings into ports, database
// names and each child's environment. No I/O here, so the rules are unit-tested directly.
import type { StackService } from './services.ts';

/** Default gateway port; registry ports are written relative to it (users 8081 = base + 1...). */
export const DEFAULT_BASE_PORT = 8080;

export interface PortSettings {
  /** Gateway port (PORT); already resolved (never 0). */
  gatewayPort: number;
  /** SERVICE_PORT_BASE: shifts every non-gateway port by (base - 8080). */
  serviceBase?: number;
}

export function isGateway(svc: StackService): boolean {
  return svc.name === 'gateway';
}

/** The registry order, gateway last (the order of their start lines; they all start at once). */
export function startOrder(services: StackService[]): StackService[] {
  return [...services.filter((s) => !isGateway(s)), ...services.filter(isGateway)];
}

export function servicePort(svc: StackService, ports: PortSettings): number {
  if (isGateway(svc)) return ports.gatewayPort;
  const base = ports.serviceBase ?? DEFAULT_BASE_PORT;
  return base + (svc.port - DEFAULT_BASE_PORT);
}

/** A service's database name: its name, reduced to what ensureDatabase accepts. */
export function databaseName(svc: StackService): string {
  const name = svc.name.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  return /^[a-z_]/.test(name) ? name : `s_${name}`;
}

/** The database the platform event bus uses when there is no Redis. */
export const BUS_DATABASE = 'bus';

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface StackSettings {
  ports: PortSettings;
  /** Postgres superuser URL (database "postgres"). */
  postgresUrl: string;
  /** Redis masters; empty in the in-memory mode. */
  redisUrls: string[];
  redisPrefix: string;
  demoPassword: string;
  smtpUrl?: string;
  /** The runner's dev mail sink (npm start without SMTP_URL): services with `devMail` send SMS to it. */
  devMail?: { smsUrl: string };
  /** Values of the registry's `secrets` variables (generated once per DATA_DIR). */
  secrets?: Record<string, string>;
}

/** `users` -> `USERS_URL`. */
export function urlVariable(svc: StackService): string {
  return `${svc.name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_URL`;
}

export function localUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** The variables the runner sets for one child (on top of the runner's own environment). */
export function serviceEnv(svc: StackService, all: StackService[], s: StackSettings): Record<string, string> {
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    PORT: String(servicePort(svc, s.ports)),
    SERVICE_NAME: svc.name,
    OTEL_SERVICE_NAME: svc.name,
    REDIS_PREFIX: s.redisPrefix,
    DEMO_PASSWORD: s.demoPassword,
  };
  // Services behind the gateway trust its identity headers: on a laptop only loopback may reach them (in
  // Kubernetes a NetworkPolicy does this). The gateway keeps the runner's HOST.
  if (!isGateway(svc)) env.HOST = '127.0.0.1';
  for (const other of all) env[urlVariable(other)] = localUrl(servicePort(other, s.ports));
  if (svc.database) env.DATABASE_URL = databaseUrl(s.postgresUrl, databaseName(svc));
  if (s.redisUrls.length) env.REDIS_URL = s.redisUrls.join(',');
  else env.BUS_DATABASE_URL = databaseUrl(s.postgresUrl, BUS_DATABASE);
  if (s.smtpUrl) env.SMTP_URL = s.smtpUrl;
  if (svc.devMail && s.devMail) {
    env.SMS_PROVIDER = 'http';
    env.SMS_HTTP_URL = s.devMail.smsUrl;
  }
  for (const name of svc.secrets ?? []) {
    const value = s.secrets?.[name];
    if (value) env[name] = value;
  }
  return { ...env, ...svc.env };
}

/** The dev mail sink's ports (npm start without SMTP_URL): SMTP at base + 8 (8088), the mailbox page at
 *  base + 9 (8089). Inside the stack's ten ports, so they move with SERVICE_PORT_BASE like the services and
 *  never meet another stack's (test stacks take ranges of ten). */
export function devMailPorts(ports: PortSettings): { http: number; smtp: number } {
  const base = ports.serviceBase ?? DEFAULT_BASE_PORT;
  return { http: base + 9, smtp: base + 8 };
}

/** Variables a child must not inherit from the runner's shell: the runner decides them per service. */
export const RUNNER_OWNED_VARIABLES = ['DATABASE_URL', 'REDIS_URL', 'BUS_DATABASE_URL', 'SMTP_URL', 'PORT'];
