// The service image's migration entry (/app/ops/migrate.ts), run by the chart's hook Job and init container:
//   node /app/ops/migrate.ts              waits for the database, then applies SERVICE_NAME's pending migrations
//   node /app/ops/migrate.ts --wait-only  waits until DATABASE_URL answers, applies nothing
// The migrations are the service's own (services/<name>/src/db/migrations.ts), applied by the platform's
// migrate(): each in one transaction under the advisory lock every starting replica also takes, so a Job and
// a service starting at the same moment apply each migration once.
// Environment: SERVICE_NAME (default: the folder the image was built for), DATABASE_URL,
// MIGRATE_WAIT_SECONDS (default 300: how long an unreachable database is waited for before exit 1).
import { existsSync } from 'node:fs';
import { createDatabase, migrate, type Migration } from '@eventtickets/platform';

function fail(message: string): never {
  process.stderr.write(`migrate: ${message}\n`);
  process.exit(1);
}

const waitOnly = process.argv.includes('--wait-only');
const service = process.env.SERVICE_NAME || process.env.SERVICE || '';
const url = process.env.DATABASE_URL ?? '';
if (!/^postgres(ql)?:\/\/.+/.test(url)) fail('DATABASE_URL is required (a postgres:// URL)');
const waitSeconds = Number(process.env.MIGRATE_WAIT_SECONDS ?? '300');
if (!Number.isInteger(waitSeconds) || waitSeconds < 0) fail('MIGRATE_WAIT_SECONDS must be a whole number of seconds');

const db = createDatabase(url, { poolMax: 1 });
const deadline = Date.now() + waitSeconds * 1000;
for (let attempt = 1; ; attempt++) {
  try {
    await db.query('SELECT 1');
    break;
  } catch (err) {
    if (Date.now() >= deadline) fail(`database not reachable after ${waitSeconds} s: ${(err as Error).message}`);
    if (attempt === 1 || attempt % 10 === 0)
      process.stdout.write(`migrate: waiting for the database (${(err as Error).message})\n`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

if (!waitOnly) {
  if (!/^[a-z][a-z0-9-]*$/.test(service)) fail('SERVICE_NAME is required (the service whose migrations run)');
  const file = new URL(`../services/${service}/src/db/migrations.ts`, import.meta.url);
  if (!existsSync(file)) fail(`${service} has no migrations (${file.pathname})`);
  const { migrations } = (await import(file.href)) as { migrations: Migration[] };
  const applied = await migrate(db, migrations);
  process.stdout.write(
    `migrate: ${service}: ${applied.length ? `applied ${applied.join(', ')}` : 'schema already current'}\n`,
  );
}
await db.close();
