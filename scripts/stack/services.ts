// The one place a service joins the local stack: name, folder, port, and what it needs. The runner
// (scripts/start.ts) starts the services together, the gateway included, and waits for each /readyz.
export interface StackService {
  name: string;
  /** Folder under services/ holding src/main.ts. */
  dir: string;
  /** Default local port (the gateway takes PORT instead). */
  port: number;
  /** Gets its own database in the embedded Postgres. */
  database: boolean;
  /** Extra environment for local runs. */
  env?: Record<string, string>;
  /** Optional module (relative to the service folder) exporting
   *  `seedDemo(ctx: { gatewayUrl: string; demoPassword: string; log: (msg: string) => void }): Promise<void>`,
   *  run once the stack is ready, in registry order; it must be idempotent (a second start changes nothing). */
  seed?: string;
  /** Pages worth printing at start (e.g. the dev mailbox), as paths on the service's own URL. */
  links?: { label: string; path: string }[];
  /** Secret variables (e.g. CURSOR_SECRET) generated once per DATA_DIR (random, 43 characters) and passed
   *  to this service on every start; a value set in the runner's environment wins. */
  secrets?: string[];
  /** Optional module (relative to the service folder) exporting `demoAccounts: { email, role }[]`: the
   *  accounts this service creates with DEMO_PASSWORD, listed in the banner at start. The runner imports it:
   *  keep it free of run-time imports (it was the users service's whole code, 1-2 s of every start). */
  demoAccounts?: string;
  /** Sends mail and SMS: without SMTP_URL the runner starts its SMTP sink and dev mailbox
   *  (scripts/stack/mail-sink.ts) and points this service at it (SMTP_URL, SMS_PROVIDER=http, SMS_HTTP_URL;
   *  SMS_HTTP_SECRET comes from `secrets`). */
  devMail?: boolean;
}

/** Secrets every service gets: INTERNAL_TOKEN_SECRET signs and verifies the identity passed between the
 *  gateway and the services (shared/DESIGN.md "Service-to-service identity"), one value for the whole stack. */
export const STACK_WIDE_SECRETS = ['INTERNAL_TOKEN_SECRET'];

const registry: StackService[] = [
  { name: 'users', dir: 'users', port: 8081, database: true, demoAccounts: 'src/domain/demo-accounts.ts' },
  {
    name: 'catalog',
    dir: 'catalog',
    port: 8082,
    database: true,
    seed: 'src/use-cases/demo-seed.ts',
    secrets: ['CURSOR_SECRET'],
  },
  { name: 'inventory', dir: 'inventory', port: 8083, database: true },
  // Orders calls inventory and payments (INVENTORY_URL, PAYMENTS_URL, set by the runner); ticket codes are
  // signed with TICKET_CODE_SECRET.
  { name: 'orders', dir: 'orders', port: 8084, database: true, secrets: ['TICKET_CODE_SECRET'] },
  // The simulator's webhooks go to the gateway's public path (GATEWAY_URL, set by the runner).
  { name: 'payments', dir: 'payments', port: 8085, database: true, secrets: ['PAYMENTS_WEBHOOK_SECRET'] },
  // Mail through SMTP_URL, or the runner's SMTP sink and dev mailbox when it is unset; SMS to the sink too.
  {
    name: 'notifications',
    dir: 'notifications',
    port: 8086,
    database: true,
    devMail: true,
    secrets: ['SMS_HTTP_SECRET'],
  },
  { name: 'gateway', dir: 'gateway', port: 8080, database: false },
];

export const stackServices: StackService[] = registry.map((svc) => ({
  ...svc,
  secrets: [...STACK_WIDE_SECRETS, ...(svc.secrets ?? [])],
}));
