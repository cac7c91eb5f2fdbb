// Demo seed: creates the three demo accounts once (with user.registered events), leaves existing ones alone.
import { expect } from 'chai';
import { ensureDemoUsers } from '../src/use-cases/demo-seed.ts';
import { PASSWORD, startUsers, type UsersHarness } from './helpers.ts';

describe('users: demo seed (real Postgres)', function () {
  let h: UsersHarness;
  before(async function () {
    h = await startUsers(this);
  });
  after(async () => {
    await h?.close();
  });

  it('creates buyer, organizer and admin once; a second run changes nothing; they can log in', async () => {
    const first = await ensureDemoUsers(h.deps, 'demo-password-123');
    expect(first).to.deep.equal(['buyer@example.com', 'organizer@example.com', 'admin@example.com']);
    const afterFirst = await h.counts();
    expect(afterFirst).to.include({ users: 3, outbox: 3 });

    expect(await ensureDemoUsers(h.deps, 'demo-password-123')).to.deep.equal([]);
    expect(await h.counts()).to.deep.equal(afterFirst);

    const [roles] = await h.db.query('SELECT email, role FROM users ORDER BY email');
    expect(roles).to.deep.equal([
      { email: 'admin@example.com', role: 'admin' },
      { email: 'buyer@example.com', role: 'buyer' },
      { email: 'organizer@example.com', role: 'organizer' },
    ]);
    const login = await h.call('POST', '/api/auth/login', {
      body: { email: 'organizer@example.com', password: 'demo-password-123' },
    });
    expect(login.status).to.equal(200);
    expect(login.body.user.role).to.equal('organizer');
  });

  it('leaves an existing demo account as it is (password, name and role), even with another DEMO_PASSWORD', async () => {
    await ensureDemoUsers(h.deps, 'demo-password-123'); // the accounts exist (whether or not the test above ran)
    await h.db.query("UPDATE users SET name = 'Renamed', role = 'organizer' WHERE email = 'buyer@example.com'");
    const before = await h.counts();
    expect(await ensureDemoUsers(h.deps, PASSWORD)).to.deep.equal([]);
    expect(await h.counts()).to.deep.equal(before);
    expect(
      (await h.call('POST', '/api/auth/login', { body: { email: 'buyer@example.com', password: PASSWORD } })).status,
    ).to.equal(401);
  });
});
