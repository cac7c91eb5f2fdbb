// The password-work gate: a rush of sign-ins is answered 503 password-work-busy once PASSWORD_HASH_QUEUE_MAX are
// waiting (nothing hashed, nothing changed), and a sign-in whose client went away while it waited is never hashed.
import { expect } from 'chai';
import { waitFor } from '@eventtickets/platform/testing';
import { createPasswordHasher } from '../src/domain/passwords.ts';
import { createWorkGate, WorkAbandoned, WorkGateFull } from '../src/domain/work-gate.ts';
import { PASSWORD, TEST_SCRYPT, registerUser, startUsers, uniqueEmail, type UsersHarness } from './helpers.ts';

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

describe('users domain: the work gate', () => {
  it('runs at most `concurrency` jobs, queues up to `maxQueued`, refuses the next at once', async () => {
    const gate = createWorkGate(1, 1);
    const first = deferred();
    const order: string[] = [];
    const a = gate.run(async () => {
      order.push('a');
      await first.promise;
      return 'a';
    });
    const b = gate.run(async () => {
      order.push('b');
      return 'b';
    });
    const refused = await gate.run(async () => 'c').catch((err: unknown) => err);
    expect(refused).to.be.instanceOf(WorkGateFull);
    expect([gate.running, gate.queued, order]).to.deep.equal([1, 1, ['a']]);
    first.release();
    expect(await Promise.all([a, b])).to.deep.equal(['a', 'b']);
    expect([gate.running, gate.queued]).to.deep.equal([0, 0]);
  });

  it('drops a waiting job whose signal aborts (it never runs) and frees the slot after a job that throws', async () => {
    const gate = createWorkGate(1, 5);
    const first = deferred();
    let abandonedRan = false;
    const a = gate.run(async () => {
      await first.promise;
      throw new Error('boom');
    });
    const controller = new AbortController();
    const abandoned = gate.run(async () => {
      abandonedRan = true;
    }, controller.signal);
    controller.abort();
    expect(await abandoned.catch((err: unknown) => err)).to.be.instanceOf(WorkAbandoned);
    expect(gate.queued).to.equal(0);
    first.release();
    expect(await a.catch((err: Error) => err.message)).to.equal('boom');
    expect(await gate.run(async () => 'next')).to.equal('next');
    expect(abandonedRan).to.equal(false);
  });
});

describe('users: sign-ins beyond the password-work queue (real Postgres)', function () {
  let h: UsersHarness;
  let gateOpen = deferred();
  let verifications = 0;

  before(async function () {
    const real = await createPasswordHasher(TEST_SCRYPT);
    // The real hasher; verify waits until the test opens the gate, so a check stays "in flight" on demand.
    const passwords = {
      ...real,
      dummyHash: real.dummyHash,
      verify: async (pw: string, stored: string) => {
        verifications += 1;
        await gateOpen.promise;
        return real.verify(pw, stored);
      },
    };
    h = await startUsers(this, { passwords, env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE_MAX: '1' } });
  });
  after(async () => {
    gateOpen.release();
    await h?.close();
  });

  it('answers 503 password-work-busy with Retry-After when the queue is full, checks nothing for it, and recovers', async () => {
    const email = uniqueEmail('rush');
    await registerUser(h, { email });
    gateOpen = deferred();
    verifications = 0;
    const login = () => h.call('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
    const running = login();
    await waitFor('the first check in flight', () => h.deps.passwordWork.running === 1);
    const queued = login();
    await waitFor('the second one queued', () => h.deps.passwordWork.queued === 1);
    const before = await h.counts();
    const refused = await login();
    expect(refused.status).to.equal(503);
    expect(refused.body.retryAfter).to.equal(1);
    expect(String(refused.body.type)).to.match(/password-work-busy$/);
    expect(refused.headers.get('retry-after')).to.equal('1');
    expect(await h.counts()).to.deep.equal(before);
    gateOpen.release();
    expect((await running).status).to.equal(200);
    expect((await queued).status).to.equal(200);
    expect(verifications).to.equal(2);
    expect((await login()).status).to.equal(200);
  });

  it('never checks the password of a sign-in whose client closed the connection while it waited', async () => {
    const email = uniqueEmail('gone');
    await registerUser(h, { email });
    gateOpen = deferred();
    verifications = 0;
    const running = h.call('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
    await waitFor('the first check in flight', () => h.deps.passwordWork.running === 1);
    const controller = new AbortController();
    const gone = fetch(`${h.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
      signal: controller.signal,
    }).catch((err: unknown) => err);
    await waitFor('the second one queued', () => h.deps.passwordWork.queued === 1);
    controller.abort();
    expect(await gone).to.be.instanceOf(Error);
    await waitFor('the abandoned sign-in left the queue', () => h.deps.passwordWork.queued === 0);
    gateOpen.release();
    expect((await running).status).to.equal(200);
    expect(verifications).to.equal(1);
  });
});
