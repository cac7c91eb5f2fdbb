import { expect } from 'chai';
import { createDatabase, migrate, withTransaction, type Sequelize } from '../src/db.ts';
import {
  awaitConcurrentIdempotentResult,
  committedIdempotentResult,
  idempotencyMigrations,
  pruneIdempotencyKeys,
  requestFingerprint,
  runIdempotent,
} from '../src/idempotency.ts';
import { HttpProblem } from '../src/errors.ts';
import { createTestDatabase, dropTestDatabase } from '../src/testing/harness.ts';

describe('platform/idempotency (real Postgres)', () => {
  let url: string;
  let db: Sequelize;
  before(async function () {
    url = await createTestDatabase(this, 'idempotency');
    db = createDatabase(url);
    await migrate(db, idempotencyMigrations);
    await db.query('CREATE TABLE charges (id serial PRIMARY KEY, amount int NOT NULL)');
  });
  after(async () => {
    await db?.close();
    if (url) await dropTestDatabase(url);
  });

  const charge = (key: string, amount: number, scope = 'user-1') =>
    withTransaction(db, (t) =>
      runIdempotent(
        db,
        t,
        { scope, key, fingerprint: requestFingerprint('POST', '/charges', { amount }) },
        async () => {
          const [rows] = (await db.query('INSERT INTO charges (amount) VALUES ($1) RETURNING id', {
            bind: [amount],
            transaction: t,
          })) as [Array<{ id: number }>, unknown];
          return { status: 201, body: { chargeId: rows[0]!.id, amount } };
        },
      ),
    );
  const count = async () =>
    ((await db.query('SELECT count(*)::int AS n FROM charges')) as [Array<{ n: number }>, unknown])[0][0]!.n;

  it('applies a request once and replays the first result for the same key and body', async () => {
    const first = await charge('key-aaaa-0001', 500);
    const again = await charge('key-aaaa-0001', 500);
    expect(first.replayed).to.equal(false);
    expect(again).to.deep.equal({ ...first, replayed: true });
    expect(await count()).to.equal(1);
  });

  it('refuses the same key with another body (422) and changes nothing', async () => {
    const before = await count();
    try {
      await charge('key-aaaa-0001', 900);
      expect.fail('should refuse');
    } catch (err) {
      expect(err).to.be.instanceOf(HttpProblem);
      expect((err as HttpProblem).status).to.equal(422);
      expect((err as HttpProblem).slug).to.equal('idempotency-key-reused');
    }
    expect(await count()).to.equal(before);
  });

  it('scopes keys per caller', async () => {
    const a = await charge('key-shared-01', 100, 'user-a');
    const b = await charge('key-shared-01', 100, 'user-b');
    expect(a.body.chargeId).to.not.equal(b.body.chargeId);
  });

  it('applies exactly once when the same request races itself', async () => {
    const before = await count();
    const results = await Promise.all(Array.from({ length: 8 }, () => charge('key-race-0001', 250)));
    expect(await count()).to.equal(before + 1);
    expect(new Set(results.map((r) => r.body.chargeId)).size).to.equal(1);
    expect(results.filter((r) => !r.replayed)).to.have.length(1);
  });

  it('remembers nothing when the change fails, so a retry applies it', async () => {
    const before = await count();
    try {
      await withTransaction(db, (t) =>
        runIdempotent(db, t, { scope: 'user-1', key: 'key-fail-0001', fingerprint: 'f' }, async () => {
          await db.query('INSERT INTO charges (amount) VALUES (1)', { transaction: t });
          throw new Error('payment provider down');
        }),
      );
    } catch {
      /* expected */
    }
    expect(await count()).to.equal(before);
    const retry = await withTransaction(db, (t) =>
      runIdempotent(db, t, { scope: 'user-1', key: 'key-fail-0001', fingerprint: 'f' }, async () => ({
        status: 201,
        body: { ok: true },
      })),
    );
    expect(retry.replayed).to.equal(false);
  });

  it('fingerprints ignore key order but not values', () => {
    expect(requestFingerprint('post', '/x', { a: 1, b: [1, { c: 2, d: 3 }] })).to.equal(
      requestFingerprint('POST', '/x', { b: [1, { d: 3, c: 2 }], a: 1 }),
    );
    expect(requestFingerprint('POST', '/x', { a: 1 })).to.not.equal(requestFingerprint('POST', '/x', { a: 2 }));
  });

  it('reads a committed result without locking, and nothing for an unused key', async () => {
    const first = await charge('key-read-0001', 300);
    const ref = {
      scope: 'user-1',
      key: 'key-read-0001',
      fingerprint: requestFingerprint('POST', '/charges', { amount: 300 }),
    };
    expect(await committedIdempotentResult(db, ref)).to.deep.equal({ ...first, replayed: true });
    expect(await committedIdempotentResult(db, { ...ref, key: 'key-read-none' })).to.equal(undefined);
    try {
      await committedIdempotentResult(db, { ...ref, fingerprint: 'other' });
      expect.fail('should refuse');
    } catch (err) {
      expect((err as HttpProblem).slug).to.equal('idempotency-key-reused');
    }
  });

  it('a probe waits for an uncommitted first attempt and returns its result; with none it stores nothing', async () => {
    const ref = { scope: 'user-1', key: 'key-probe-001', fingerprint: 'p' };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const firstAttempt = withTransaction(db, (t) =>
      runIdempotent(db, t, ref, async () => {
        await gate;
        return { status: 201, body: { n: 1 } };
      }),
    );
    // the first attempt has claimed the key once its transaction sits idle, waiting on the gate
    for (let i = 0; i < 200; i++) {
      const [idle] = (await db.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'",
      )) as [Array<{ n: number }>, unknown];
      if (idle[0]!.n > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const probe = awaitConcurrentIdempotentResult(db, ref);
    release();
    expect(await probe).to.deep.equal({ status: 201, body: { n: 1 }, replayed: true });
    await firstAttempt;
    expect(await awaitConcurrentIdempotentResult(db, { ...ref, key: 'key-probe-none' })).to.equal(undefined);
    expect(await committedIdempotentResult(db, { ...ref, key: 'key-probe-none' })).to.equal(undefined);
  });

  it('prunes old keys', async () => {
    await db.query("UPDATE idempotency_keys SET created_at = now() - interval '2 days' WHERE key = 'key-aaaa-0001'");
    expect(await pruneIdempotencyKeys(db, 86_400_000)).to.equal(1);
  });
});
