// GET/PATCH /api/me and the admin endpoints (list with cursor, role changes / organizer approval), with
// the user.updated events they write to the outbox.
import { expect } from 'chai';
import { makeAdmin, registerUser, startUsers, type Identity, type UsersHarness } from './helpers.ts';

describe('users: profile and admin (real Postgres)', function () {
  let h: UsersHarness;
  let admin: Identity;
  before(async function () {
    h = await startUsers(this);
    admin = await makeAdmin(h);
  });
  after(async () => {
    await h?.close();
  });

  const eventsFor = async (userId: string) => {
    const [rows] = await h.db.query('SELECT type, payload FROM outbox WHERE aggregate_id = :userId ORDER BY seq', {
      replacements: { userId },
    });
    return rows as Array<{ type: string; payload: any }>;
  };
  const asUser = (session: any): Identity => ({
    userId: session.user.id,
    role: session.user.role,
    email: session.user.email,
  });

  describe('/api/me', () => {
    it('needs the gateway identity (401 without it)', async () => {
      const res = await h.call('GET', '/api/me');
      expect(res.status).to.equal(401);
    });

    it('returns the caller profile', async () => {
      const session = await registerUser(h);
      const res = await h.call('GET', '/api/me', { identity: asUser(session) });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(session.user);
    });

    it('404s for an identity whose user does not exist', async () => {
      const res = await h.call('GET', '/api/me', {
        identity: { userId: '00000000-0000-4000-8000-000000000000', role: 'buyer' },
      });
      expect(res.status).to.equal(404);
      expect(res.body.type).to.match(/\/user-not-found$/);
    });

    it('answers a malformed x-user-id with 404 user-not-found (not a 500), reading and patching, changing nothing', async () => {
      const before = await h.counts();
      for (const userId of ['not-a-uuid', '00000000-0000-4000-8000-00000000000', "1' OR '1'='1"]) {
        const identity = { userId, role: 'buyer' as const };
        const read = await h.call('GET', '/api/me', { identity });
        expect(read.status, userId).to.equal(404);
        expect(read.body.type).to.match(/\/user-not-found$/);
        const patch = await h.call('PATCH', '/api/me', { identity, body: { name: 'Mallory' } });
        expect(patch.status, userId).to.equal(404);
      }
      expect(await h.counts()).to.deep.equal(before);
    });

    it('updates name, phone and notification preferences and emits user.updated with the new state', async () => {
      const session = await registerUser(h);
      const res = await h.call('PATCH', '/api/me', {
        identity: asUser(session),
        body: { name: ' Grace Hopper ', phone: '+15551234567', notificationPrefs: { sms: true } },
      });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ name: 'Grace Hopper', phone: '+15551234567' });
      expect(res.body.notificationPrefs).to.deep.equal({ email: true, sms: true });
      expect((await h.call('GET', '/api/me', { identity: asUser(session) })).body).to.deep.equal(res.body);
      const events = await eventsFor(session.user.id);
      expect(events.map((e) => e.type)).to.deep.equal(['user.registered', 'user.updated']);
      expect(events[1]!.payload).to.deep.equal({
        userId: session.user.id,
        email: session.user.email,
        name: 'Grace Hopper',
        phone: '+15551234567',
        role: 'buyer',
        notificationPrefs: { email: true, sms: true },
      });
    });

    it('emits nothing when the patch changes nothing', async () => {
      const session = await registerUser(h);
      const res = await h.call('PATCH', '/api/me', {
        identity: asUser(session),
        body: { name: session.user.name, notificationPrefs: { email: true } },
      });
      expect(res.status).to.equal(200);
      expect((await eventsFor(session.user.id)).map((e) => e.type)).to.deep.equal(['user.registered']);
    });

    it('refuses SMS without a phone, and removing the phone while SMS is on (422), changing nothing', async () => {
      const session = await registerUser(h);
      const before = await h.counts();
      const noPhone = await h.call('PATCH', '/api/me', {
        identity: asUser(session),
        body: { notificationPrefs: { sms: true } },
      });
      expect(noPhone.status).to.equal(422);
      expect(noPhone.body.type).to.match(/\/phone-required-for-sms$/);
      expect(await h.counts()).to.deep.equal(before);

      await h.call('PATCH', '/api/me', {
        identity: asUser(session),
        body: { phone: '+15550001111', notificationPrefs: { sms: true } },
      });
      const mid = await h.counts();
      const removing = await h.call('PATCH', '/api/me', { identity: asUser(session), body: { phone: null } });
      expect(removing.status).to.equal(422);
      expect(await h.counts()).to.deep.equal(mid);
      const cleared = await h.call('PATCH', '/api/me', {
        identity: asUser(session),
        body: { phone: null, notificationPrefs: { sms: false } },
      });
      expect(cleared.status).to.equal(200);
      expect(cleared.body.phone).to.equal(null);
    });

    const badPatches: Array<[string, unknown]> = [
      ['an empty patch', {}],
      ['an unknown field', { role: 'admin' }],
      ['an e-mail change', { email: 'new@example.org' }],
      ['an over-long name', { name: 'x'.repeat(101) }],
      ['an empty name', { name: '' }],
      ['a control character in the name', { name: 'Grace\u0000' }],
      ['a malformed phone', { phone: '12345' }],
      ['an unknown preference', { notificationPrefs: { push: true } }],
      ['a non-boolean preference', { notificationPrefs: { email: 'yes' } }],
    ];
    for (const [what, body] of badPatches) {
      it(`rejects ${what} with 400 and changes nothing`, async () => {
        const session = await registerUser(h);
        const before = await h.counts();
        const res = await h.call('PATCH', '/api/me', { identity: asUser(session), body });
        expect(res.status).to.equal(400);
        expect(res.body.type).to.match(/\/validation-error$/);
        expect(await h.counts()).to.deep.equal(before);
      });
    }
  });

  describe('admin', () => {
    it('approves an organizer request: role organizer, request cleared, user.updated emitted', async () => {
      const applicant = await registerUser(h, { organizer: true });
      const pending = await h.call('GET', '/api/users?organizerRequested=true&limit=100', { identity: admin });
      expect(pending.status).to.equal(200);
      expect(pending.body.items.map((u: any) => u.id)).to.include(applicant.user.id);
      for (const u of pending.body.items) expect(u.organizerRequested).to.equal(true);

      const res = await h.call('PATCH', `/api/users/${applicant.user.id}/role`, {
        identity: admin,
        body: { role: 'organizer' },
      });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ role: 'organizer', organizerRequested: false });
      const events = await eventsFor(applicant.user.id);
      expect(events.map((e) => e.type)).to.deep.equal(['user.registered', 'user.updated']);
      expect(events[1]!.payload.role).to.equal('organizer');
      // The next refresh carries the new role.
      const refreshed = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: applicant.refreshToken } });
      expect(refreshed.body.user.role).to.equal('organizer');
    });

    it('declines an organizer request: role buyer kept, request cleared, no longer pending, no event', async () => {
      const applicant = await registerUser(h, { organizer: true });
      const res = await h.call('PATCH', `/api/users/${applicant.user.id}/role`, {
        identity: admin,
        body: { role: 'buyer' },
      });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ role: 'buyer', organizerRequested: false });
      expect((await h.call('GET', '/api/me', { identity: asUser(applicant) })).body.organizerRequested).to.equal(false);
      const pending = await h.call('GET', '/api/users?organizerRequested=true&limit=100', { identity: admin });
      expect(pending.body.items.map((u: any) => u.id)).to.not.include(applicant.user.id);
      expect((await eventsFor(applicant.user.id)).map((e) => e.type)).to.deep.equal(['user.registered']);
    });

    it('setting the same role again changes nothing and emits nothing', async () => {
      const user = await registerUser(h);
      const before = await h.counts();
      const res = await h.call('PATCH', `/api/users/${user.user.id}/role`, {
        identity: admin,
        body: { role: 'buyer' },
      });
      expect(res.status).to.equal(200);
      expect(await h.counts()).to.deep.equal(before);
    });

    it('only admins may list users or change roles (403 for organizers and buyers, 401 anonymous), changing nothing', async () => {
      const target = await registerUser(h);
      const organizer = await registerUser(h);
      const before = await h.counts();
      for (const role of ['buyer', 'organizer'] as const) {
        const identity = { userId: organizer.user.id, role };
        expect((await h.call('GET', '/api/users', { identity })).status).to.equal(403);
        const change = await h.call('PATCH', `/api/users/${target.user.id}/role`, {
          identity,
          body: { role: 'admin' },
        });
        expect(change.status).to.equal(403);
        expect(change.body.type).to.match(/\/forbidden$/);
      }
      expect((await h.call('PATCH', `/api/users/${target.user.id}/role`, { body: { role: 'admin' } })).status).to.equal(
        401,
      );
      expect(await h.counts()).to.deep.equal(before);
    });

    it('refuses bad role changes: unknown role, malformed id (400), unknown user (404), own role (409)', async () => {
      const target = await registerUser(h);
      const before = await h.counts();
      expect(
        (await h.call('PATCH', `/api/users/${target.user.id}/role`, { identity: admin, body: { role: 'superuser' } }))
          .status,
      ).to.equal(400);
      expect(
        (
          await h.call('PATCH', `/api/users/${target.user.id}/role`, {
            identity: admin,
            body: { role: 'admin', reason: 'x' },
          })
        ).status,
      ).to.equal(400);
      expect(
        (await h.call('PATCH', '/api/users/not-a-uuid/role', { identity: admin, body: { role: 'admin' } })).status,
      ).to.equal(400);
      const missing = await h.call('PATCH', '/api/users/00000000-0000-4000-8000-000000000000/role', {
        identity: admin,
        body: { role: 'admin' },
      });
      expect(missing.status).to.equal(404);
      const own = await h.call('PATCH', `/api/users/${admin.userId}/role`, {
        identity: admin,
        body: { role: 'buyer' },
      });
      expect(own.status).to.equal(409);
      expect(own.body.type).to.match(/\/cannot-change-own-role$/);
      const shouted = await h.call('PATCH', `/api/users/${admin.userId.toUpperCase()}/role`, {
        identity: admin,
        body: { role: 'buyer' },
      });
      expect([shouted.status, shouted.body.type]).to.deep.equal([409, own.body.type]);
      expect(await h.counts()).to.deep.equal(before);
    });

    it('lists every user exactly once across cursor pages, newest first', async () => {
      for (let i = 0; i < 5; i++) await registerUser(h);
      const [total] = await h.db.query('SELECT id FROM users ORDER BY created_at DESC, id DESC');
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: any = await h.call(
          'GET',
          `/api/users?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          { identity: admin },
        );
        expect(res.status).to.equal(200);
        expect(res.body.items.length).to.be.at.most(3);
        seen.push(...res.body.items.map((u: any) => u.id));
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor && pages < 50);
      expect(seen).to.deep.equal(total.map((r: any) => r.id));
    });

    it('filters by role and rejects a forged cursor or a bad limit (400)', async () => {
      const admins = await h.call('GET', '/api/users?role=admin', { identity: admin });
      expect(admins.body.items.map((u: any) => u.id)).to.include(admin.userId);
      for (const u of admins.body.items) expect(u.role).to.equal('admin');
      const uuid = '00000000-0000-4000-8000-000000000000';
      // Including timestamps Date.parse tolerates but Postgres does not ("1"), or reads its own way.
      for (const forged of [
        ['yesterday', 'x'],
        ['1', uuid],
        ['Tue, 01 Jan 2030 00:00:00', uuid],
        ['2030-02-30T00:00:00.000Z', uuid],
        ['2030-01-01', uuid],
        { createdAt: '2030-01-01T00:00:00.000Z', id: uuid },
        42,
      ]) {
        const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
        const res = await h.call('GET', `/api/users?cursor=${cursor}`, { identity: admin });
        expect(res.status, JSON.stringify(forged)).to.equal(400);
        expect(res.body.type).to.match(/\/invalid-cursor$/);
      }
      expect((await h.call('GET', '/api/users?limit=0', { identity: admin })).status).to.equal(400);
      expect((await h.call('GET', '/api/users?limit=1000', { identity: admin })).status).to.equal(400);
    });
  });
});
