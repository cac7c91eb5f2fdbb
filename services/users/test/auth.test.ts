// Register, login, refresh (rotation + reuse detection), logout, login back-off and the bad-input paths,
// against real Postgres through HTTP.
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createPasswordHasher } from '../src/domain/passwords.ts';
import { PASSWORD, TEST_SCRYPT, registerUser, startUsers, uniqueEmail, type UsersHarness } from './helpers.ts';

describe('users: register, login, refresh, logout (real Postgres)', function () {
  let h: UsersHarness;
  const verifiedAgainst: string[] = [];

  before(async function () {
    // The real hasher, wrapped only to record which stored hash each login verified against.
    const real = await createPasswordHasher(TEST_SCRYPT);
    const passwords = {
      ...real,
      dummyHash: real.dummyHash,
      verify: (pw: string, stored: string) => {
        verifiedAgainst.push(stored);
        return real.verify(pw, stored);
      },
    };
    h = await startUsers(this, {
      passwords,
      backoff: { maxFailures: 3, baseSeconds: 60, maxSeconds: 600, forgetAfterSeconds: 3600, accountMaxFailures: 10 },
      env: { REGISTER_MAX_CONFLICTS: '3' },
    });
  });
  after(async () => {
    await h?.close();
  });

  describe('register', () => {
    it('creates a buyer with a normalised e-mail, returns a session and emits user.registered in the outbox', async () => {
      const before = await h.counts();
      const email = `  Mixed.Case.${Date.now()}@Example.ORG `;
      const res = await h.call('POST', '/api/auth/register', {
        body: { email: email.trim(), password: PASSWORD, name: '  Ada Lovelace ', phone: '+441234567890' },
      });
      expect(res.status).to.equal(201);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const { user } = res.body;
      expect(user.email).to.equal(email.trim().toLowerCase());
      expect(user).to.include({
        name: 'Ada Lovelace',
        role: 'buyer',
        phone: '+441234567890',
        organizerRequested: false,
      });
      expect(user.notificationPrefs).to.deep.equal({ email: true, sms: false });
      expect(res.body.tokenType).to.equal('Bearer');
      expect(res.body.expiresIn).to.equal(900);
      expect(res.body.refreshToken).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(Date.parse(res.body.refreshExpiresAt) - Date.now()).to.be.greaterThan(29 * 86_400_000);
      const claims = decodeJwt(res.body.accessToken);
      expect(claims).to.include({
        sub: user.id,
        role: 'buyer',
        email: user.email,
        iss: 'eventtickets',
        aud: 'eventtickets-api',
      });
      expect(claims.exp! - claims.iat!).to.equal(900);
      expect(claims.jti).to.be.a('string');
      expect(decodeProtectedHeader(res.body.accessToken)).to.include({ alg: 'ES256' }).and.to.have.property('kid');

      const after = await h.counts();
      expect(after.users).to.equal(Number(before.users) + 1);
      expect(after.refresh_tokens).to.equal(Number(before.refresh_tokens) + 1);
      const [events] = await h.db.query('SELECT type, aggregate_id, payload FROM outbox WHERE aggregate_id = :id', {
        replacements: { id: user.id },
      });
      expect(events).to.have.length(1);
      expect(events[0]).to.deep.include({ type: 'user.registered', aggregate_id: user.id });
      expect((events[0] as any).payload).to.deep.equal({
        userId: user.id,
        email: user.email,
        name: 'Ada Lovelace',
        phone: '+441234567890',
        role: 'buyer',
        notificationPrefs: { email: true, sms: false },
      });
      // Only the hash of the refresh token is stored, and the password only as a salted scrypt hash.
      const [stored] = await h.db.query(
        "SELECT encode(token_hash, 'hex') AS h FROM refresh_tokens WHERE user_id = :id",
        { replacements: { id: user.id } },
      );
      expect((stored[0] as any).h)
        .to.have.length(64)
        .and.not.include(res.body.refreshToken);
      const [pw] = await h.db.query('SELECT password_hash FROM users WHERE id = :id', {
        replacements: { id: user.id },
      });
      expect((pw[0] as any).password_hash).to.match(/^scrypt\$ln=12,r=8,p=1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    });

    it('an organizer sign-up stays a buyer with organizerRequested until an admin approves', async () => {
      const session = await registerUser(h, { organizer: true });
      expect(session.user).to.include({ role: 'buyer', organizerRequested: true });
      expect(decodeJwt(session.accessToken).role).to.equal('buyer');
    });

    it('refuses a duplicate e-mail (any case) with 409 email-taken and changes nothing', async () => {
      const email = uniqueEmail('dup');
      await h.call('POST', '/api/auth/register', { body: { email, password: PASSWORD, name: 'First' } });
      const before = await h.counts();
      const res = await h.call('POST', '/api/auth/register', {
        body: { email: email.toUpperCase(), password: PASSWORD, name: 'Second' },
      });
      expect(res.status).to.equal(409);
      expect(res.body.type).to.match(/\/email-taken$/);
      expect(await h.counts()).to.deep.equal(before);
    });

    it('answers email-taken to one client at most REGISTER_MAX_CONFLICTS times per window, then 429 registration-backoff for any e-mail from it', async () => {
      const taken = await registerUser(h);
      const from = (ip: string, email: string) =>
        h.call('POST', '/api/auth/register', {
          body: { email, password: PASSWORD, name: 'Prober' },
          headers: { 'x-forwarded-for': ip },
        });
      const prober = '203.0.113.50';
      for (let i = 0; i < 3; i++) expect((await from(prober, taken.user.email)).status, `probe ${i + 1}`).to.equal(409);
      const before = await h.counts();
      const held = await from(prober, taken.user.email);
      expect(held.status).to.equal(429);
      expect(held.body.type).to.match(/\/registration-backoff$/);
      expect(Number(held.headers.get('retry-after'))).to.be.within(1, 3600);
      // A free e-mail from the same client is held too (the answer tells the prober nothing), and nothing is created.
      expect((await from(prober, uniqueEmail('free'))).status).to.equal(429);
      expect(await h.counts()).to.deep.equal(before);
      // Another client registers, and meets email-taken, as before.
      expect((await from('198.51.100.50', uniqueEmail('other'))).status).to.equal(201);
      expect((await from('198.51.100.50', taken.user.email)).status).to.equal(409);
      // When the window has passed (moved into the past rather than waited for), the prober is served again.
      await h.db.query(
        "UPDATE registration_conflicts SET window_started_at = now() - interval '2 hours' WHERE client = :c",
        { replacements: { c: prober } },
      );
      expect((await from(prober, taken.user.email)).status).to.equal(409);
    });

    const invalidBodies: Array<[string, unknown, string]> = [
      ['a short password', { email: 'short@example.org', password: 'nine char', name: 'X' }, 'password'],
      ['a missing name', { email: 'noname@example.org', password: PASSWORD }, 'name'],
      ['a blank name', { email: 'blank@example.org', password: PASSWORD, name: '   ' }, 'name'],
      ['an over-long name', { email: 'long@example.org', password: PASSWORD, name: 'n'.repeat(101) }, 'name'],
      ['an over-long e-mail', { email: `${'a'.repeat(250)}@example.org`, password: PASSWORD, name: 'X' }, 'email'],
      ['a malformed e-mail', { email: 'not-an-email', password: PASSWORD, name: 'X' }, 'email'],
      ['an unknown field', { email: 'extra@example.org', password: PASSWORD, name: 'X', role: 'admin' }, 'role'],
      ['a non-E.164 phone', { email: 'phone@example.org', password: PASSWORD, name: 'X', phone: '0123 456' }, 'phone'],
      ['a wrong type', { email: 'type@example.org', password: PASSWORD, name: 'X', organizer: 'yes' }, 'organizer'],
      ['a NUL in the name', { email: 'nulname@example.org', password: PASSWORD, name: 'Ada\u0000Lovelace' }, 'name'],
      ['a name of only a control character', { email: 'bell@example.org', password: PASSWORD, name: '\u0007' }, 'name'],
      ['a NUL in the e-mail', { email: 'nul\u0000x@example.org', password: PASSWORD, name: 'X' }, 'email'],
    ];
    for (const [what, body, field] of invalidBodies) {
      it(`rejects ${what} with 400 naming the field and changes nothing`, async () => {
        const before = await h.counts();
        const res = await h.call('POST', '/api/auth/register', { body });
        expect(res.status).to.equal(400);
        expect(res.body.type).to.match(/\/validation-error$/);
        expect(res.body.errors.map((e: any) => e.field)).to.include(`requestBody.${field}`);
        expect(await h.counts()).to.deep.equal(before);
      });
    }

    it('rejects malformed JSON (400 malformed-json) and a non-JSON body (415) and changes nothing', async () => {
      const before = await h.counts();
      const malformed = await h.call('POST', '/api/auth/register', { rawBody: '{"email": "x@example.org", ' });
      expect(malformed.status).to.equal(400);
      expect(malformed.body.type).to.match(/\/malformed-json$/);
      const form = await h.call('POST', '/api/auth/register', {
        rawBody: 'email=x@example.org',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).to.equal(415);
      expect(await h.counts()).to.deep.equal(before);
    });

    it('answers an over-large body (413) and a non-JSON body on every auth call (415) with a declared problem, changing nothing', async () => {
      const before = await h.counts();
      const huge = await h.call('POST', '/api/auth/register', {
        body: { email: uniqueEmail('huge'), password: PASSWORD, name: 'X', padding: 'x'.repeat(20_000) },
      });
      expect(huge.status).to.equal(413);
      expect(huge.body.type).to.match(/\/payload-too-large$/);
      for (const path of ['/api/auth/login', '/api/auth/refresh', '/api/auth/logout']) {
        const res = await h.call('POST', path, {
          rawBody: 'refreshToken=abc',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect(res.status, path).to.equal(415);
        expect(res.body.type).to.match(/\/unsupported-media-type$/);
      }
      expect(await h.counts()).to.deep.equal(before);
    });
  });

  describe('login', () => {
    it('logs in with the e-mail in any case and issues a new token family', async () => {
      const session = await registerUser(h);
      const res = await h.call('POST', '/api/auth/login', {
        body: { email: ` ${session.user.email.toUpperCase()} `, password: PASSWORD },
      });
      expect(res.status).to.equal(200);
      expect(res.body.user).to.deep.equal(session.user);
      expect(res.body.refreshToken).to.not.equal(session.refreshToken);
      const [families] = await h.db.query('SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = :id', {
        replacements: { id: session.user.id },
      });
      expect(families).to.have.length(2);
    });

    it('upgrades a hash made with older scrypt parameters on the next successful login', async () => {
      const session = await registerUser(h);
      const older = await createPasswordHasher({ logN: 10, r: 8, p: 1 });
      await h.db.query('UPDATE users SET password_hash = :hash WHERE id = :id', {
        replacements: { id: session.user.id, hash: await older.hash(PASSWORD) },
      });
      const res = await h.call('POST', '/api/auth/login', { body: { email: session.user.email, password: PASSWORD } });
      expect(res.status).to.equal(200);
      const [row] = await h.db.query('SELECT password_hash FROM users WHERE id = :id', {
        replacements: { id: session.user.id },
      });
      expect((row[0] as any).password_hash).to.match(/^scrypt\$ln=12,r=8,p=1\$/);
      expect(
        (await h.call('POST', '/api/auth/login', { body: { email: session.user.email, password: PASSWORD } })).status,
      ).to.equal(200);
    });

    it('answers a wrong password and an unknown e-mail with the same 401, verifying the dummy hash for the unknown one', async () => {
      const session = await registerUser(h);
      const [row] = await h.db.query('SELECT password_hash FROM users WHERE id = :id', {
        replacements: { id: session.user.id },
      });
      const userHash = (row[0] as any).password_hash as string;

      verifiedAgainst.length = 0;
      const wrong = await h.call('POST', '/api/auth/login', {
        body: { email: session.user.email, password: 'wrong password!' },
      });
      expect(verifiedAgainst).to.deep.equal([userHash]);

      verifiedAgainst.length = 0;
      const unknown = await h.call('POST', '/api/auth/login', {
        body: { email: uniqueEmail('nobody'), password: 'wrong password!' },
      });
      expect(verifiedAgainst).to.deep.equal([h.deps.passwords.dummyHash]);
      expect(h.deps.passwords.dummyHash).to.match(/^scrypt\$ln=12,/); // same cost as a real hash

      expect(wrong.status).to.equal(401);
      expect(unknown.status).to.equal(401);
      const strip = (b: any) => ({ ...b, requestId: undefined });
      expect(strip(unknown.body)).to.deep.equal(strip(wrong.body));
      expect(wrong.body.type).to.match(/\/invalid-credentials$/);
    });

    /** A login as the gateway forwards it: X-Forwarded-For ends with the address the gateway saw. */
    const loginFrom = (ip: string, email: string, password: string, forwardedBefore?: string) =>
      h.call('POST', '/api/auth/login', {
        body: { email, password },
        headers: { 'x-forwarded-for': forwardedBefore ? `${forwardedBefore}, ${ip}` : ip },
      });
    const clientRow = async (email: string, client: string) => {
      const [r] = await h.db.query(
        'SELECT failures, extract(epoch FROM locked_until - last_failure_at)::int AS lock_s, locked_until FROM login_failures WHERE email = :email AND client = :client',
        { replacements: { email, client } },
      );
      return r[0] as { failures: number; lock_s: number | null; locked_until: Date | null } | undefined;
    };

    it("a stranger's wrong passwords from one client do not lock the owner out on another client", async () => {
      const session = await registerUser(h);
      const email = session.user.email;
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await loginFrom('203.0.113.7', email, 'wrong password!')).status);
      expect(statuses).to.deep.equal([401, 401, 401, 429, 429, 429]); // maxFailures 3 in this suite
      // The stranger, even with the right password now, stays slowed on their client...
      verifiedAgainst.length = 0;
      const stranger = await loginFrom('203.0.113.7', email, PASSWORD);
      expect(stranger.status).to.equal(429);
      expect(stranger.body).to.include({ scope: 'client' });
      expect(verifiedAgainst, 'no password check while locked').to.deep.equal([]);
      // ...and the owner, on another network, logs straight in.
      const owner = await loginFrom('198.51.100.20', email, PASSWORD);
      expect(owner.status).to.equal(200);
      expect(owner.body.user.id).to.equal(session.user.id);
    });

    it('keeps slowing the same client: 429 with Retry-After, a lock that doubles, and it cannot escape by spoofing X-Forwarded-For', async () => {
      const session = await registerUser(h);
      const email = session.user.email;
      const client = '203.0.113.8';
      // Each guess claims another origin in the part of X-Forwarded-For the client writes; the gateway's entry is last.
      for (let i = 0; i < 3; i++) {
        const res = await loginFrom(client, email, 'wrong password!', `10.0.0.${i}, 192.0.2.${i}`);
        expect(res.status, `attempt ${i + 1}`).to.equal(401);
      }
      const locked = await loginFrom(client, email, PASSWORD, '10.9.9.9');
      expect(locked.status).to.equal(429);
      expect(locked.body.type).to.match(/\/login-backoff$/);
      expect(Number(locked.headers.get('retry-after'))).to.be.within(1, 60);
      expect(await clientRow(email, client)).to.include({ failures: 3, lock_s: 60 });
      for (const spoofed of ['10.0.0.0', '10.0.0.1', '192.0.2.0'])
        expect(await clientRow(email, spoofed), spoofed).to.equal(undefined);

      // Once the lock has passed (moved into the past rather than waited for), the next failure locks twice as long.
      await h.db.query(
        "UPDATE login_failures SET locked_until = now() - interval '1 second' WHERE email = :email AND client = :client",
        { replacements: { email, client } },
      );
      expect((await loginFrom(client, email, 'wrong password!')).status).to.equal(401);
      expect(await clientRow(email, client)).to.include({ failures: 4, lock_s: 120 });
      expect((await loginFrom(client, email, PASSWORD)).status).to.equal(429);

      // When it has passed again, the right password works and clears this client's count.
      await h.db.query(
        "UPDATE login_failures SET locked_until = now() - interval '1 second' WHERE email = :email AND client = :client",
        { replacements: { email, client } },
      );
      expect((await loginFrom(client, email, PASSWORD)).status).to.equal(200);
      expect(await clientRow(email, client)).to.include({ failures: 0, locked_until: null });
    });

    it('keys IPv6 clients by their /64: rotating the low bits is the same client', async () => {
      const session = await registerUser(h);
      const email = session.user.email;
      const statuses: number[] = [];
      for (let i = 1; i <= 4; i++) statuses.push((await loginFrom(`2001:db8:1:2::${i}`, email, 'wrong!')).status);
      expect(statuses).to.deep.equal([401, 401, 401, 429]);
      expect((await loginFrom('2001:db8:1:3::1', email, PASSWORD)).status).to.equal(200); // another /64
    });

    it('holds the back-off under parallel guessing from one client: only the threshold number of passwords is ever checked', async () => {
      const session = await registerUser(h);
      verifiedAgainst.length = 0;
      const statuses = await Promise.all(
        Array.from({ length: 12 }, () =>
          loginFrom('203.0.113.9', session.user.email, 'wrong password!').then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 401)).to.have.length(3); // maxFailures in this suite
      expect(statuses.filter((s) => s === 429)).to.have.length(9);
      expect(verifiedAgainst).to.have.length(3);
    });

    it('engages the per-account ceiling under a distributed attack (many clients), except for a client the owner logged in from', async () => {
      const session = await registerUser(h);
      const email = session.user.email;
      // The owner's usual client: one successful login makes it known to the account.
      expect((await loginFrom('198.51.100.30', email, PASSWORD)).status).to.equal(200);
      // 10 failures (the ceiling in this suite), each from another client: none of them reaches its own limit of 3.
      verifiedAgainst.length = 0;
      for (let i = 1; i <= 10; i++) {
        const res = await loginFrom(`192.0.2.${i}`, email, 'wrong password!');
        expect(res.status, `client ${i}`).to.equal(401);
      }
      // Now any new client is slowed, whatever it sends, without a password check...
      const next = await loginFrom('192.0.2.200', email, PASSWORD);
      expect(next.status).to.equal(429);
      expect(next.body).to.include({ scope: 'account' });
      expect(next.headers.get('retry-after')).to.match(/^\d+$/);
      expect(verifiedAgainst).to.have.length(10);
      // ...while the owner's known client still logs in, and its success does not lift the lock for the others.
      expect((await loginFrom('198.51.100.30', email, PASSWORD)).status).to.equal(200);
      expect((await loginFrom('192.0.2.201', email, PASSWORD)).status).to.equal(429);
    });

    it('locks unknown e-mails the same way (per client and per account), so a 429 does not reveal that an account exists', async () => {
      const email = uniqueEmail('ghost');
      for (let i = 0; i < 3; i++) await loginFrom('203.0.113.10', email, 'wrong password!');
      const res = await loginFrom('203.0.113.10', email, 'wrong password!');
      expect(res.status).to.equal(429);
      expect(res.headers.get('retry-after')).to.match(/^\d+$/);
      const distributed = uniqueEmail('ghost');
      for (let i = 1; i <= 10; i++) await loginFrom(`192.0.2.${i}`, distributed, 'wrong password!');
      const ceiling = await loginFrom('192.0.2.99', distributed, 'wrong password!');
      expect(ceiling.status).to.equal(429);
      expect(ceiling.body).to.include({ scope: 'account' });
    });

    it('takes the peer address when no X-Forwarded-For is given (a direct call)', async () => {
      const email = uniqueEmail('direct');
      await h.call('POST', '/api/auth/login', { body: { email, password: 'wrong password!' } });
      const [rows] = await h.db.query('SELECT client FROM login_failures WHERE email = :email', {
        replacements: { email },
      });
      expect(rows.map((r: any) => r.client)).to.deep.equal(['127.0.0.1']);
    });

    it('forgets failures older than forgetAfterSeconds: an old run of failures does not lock a new mistake', async () => {
      const session = await registerUser(h);
      const email = session.user.email;
      const client = '203.0.113.11';
      // Ten failures two hours ago (this suite forgets after one hour), lock long over.
      await h.db.query(
        "INSERT INTO login_failures (email, client, failures, last_failure_at, locked_until) VALUES (:email, :client, 10, now() - interval '2 hours', now() - interval '1 hour')",
        { replacements: { email, client } },
      );
      const res = await loginFrom(client, email, 'wrong password!');
      expect(res.status).to.equal(401);
      const row = await clientRow(email, client);
      expect(row).to.include({ failures: 1, locked_until: null }); // not re-locked
      // A recent run still counts on: the next failure is the second, not the first.
      await loginFrom(client, email, 'wrong password!');
      expect(await clientRow(email, client)).to.include({ failures: 2 });
    });

    it('rejects a login body with unknown fields or a control character in the e-mail (400) without counting a failure', async () => {
      const before = await h.counts();
      const res = await h.call('POST', '/api/auth/login', {
        body: { email: 'a@example.org', password: 'x', remember: true },
      });
      expect(res.status).to.equal(400);
      const nul = await h.call('POST', '/api/auth/login', { body: { email: 'a\u0000@example.org', password: 'x' } });
      expect(nul.status).to.equal(400);
      expect(nul.body.errors.map((e: any) => e.field)).to.include('requestBody.email');
      expect(await h.counts()).to.deep.equal(before);
    });
  });

  describe('refresh and logout', () => {
    /** Moves a user's rotations past the grace window (rather than waiting it out). */
    const pastGrace = (userId: string) =>
      h.db.query(
        "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 minute' WHERE user_id = :id AND rotated_at IS NOT NULL",
        { replacements: { id: userId } },
      );

    it('rotates the refresh token on every use and returns the current role', async () => {
      const session = await registerUser(h);
      const first = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      expect(first.status).to.equal(200);
      expect(first.body.refreshToken).to.not.equal(session.refreshToken);
      expect(first.body.user.id).to.equal(session.user.id);
      await h.db.query("UPDATE users SET role = 'organizer' WHERE id = :id", { replacements: { id: session.user.id } });
      const second = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
      expect(second.status).to.equal(200);
      expect(decodeJwt(second.body.accessToken).role).to.equal('organizer');
      const [rows] = await h.db.query(
        'SELECT family_id, rotated_at, revoked_at FROM refresh_tokens WHERE user_id = :id ORDER BY created_at',
        { replacements: { id: session.user.id } },
      );
      expect(rows).to.have.length(3);
      expect(new Set(rows.map((r: any) => r.family_id)).size).to.equal(1);
      expect(rows.map((r: any) => r.rotated_at !== null)).to.deep.equal([true, true, false]);
    });

    it('detects reuse of a rotated token and revokes the whole family, including the newest token', async () => {
      const session = await registerUser(h);
      const stolen = session.refreshToken;
      const legit = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: stolen } });
      expect(legit.status).to.equal(200);
      await pastGrace(session.user.id);

      const replay = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: stolen } });
      expect(replay.status).to.equal(401);
      expect(replay.body.type).to.match(/\/refresh-token-reused$/);

      const [rows] = await h.db.query('SELECT revoked_at, revoke_reason FROM refresh_tokens WHERE user_id = :id', {
        replacements: { id: session.user.id },
      });
      expect(rows).to.have.length(2);
      for (const r of rows as any[]) expect(r.revoke_reason).to.equal('reuse-detected');

      const newest = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: legit.body.refreshToken } });
      expect(newest.status).to.equal(401);
      expect(newest.body.type).to.match(/\/refresh-token-revoked$/);
    });

    it('two simultaneous refreshes with one token (a double submit) both get the same new refresh token, and the session lives on', async () => {
      const session = await registerUser(h);
      const results = await Promise.all(
        [0, 1].map(() => h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } })),
      );
      expect(results.map((r) => r.status)).to.deep.equal([200, 200]);
      const [a, b] = results.map((r) => r.body);
      expect(a.refreshToken).to.equal(b.refreshToken);
      expect(a.refreshToken).to.not.equal(session.refreshToken);
      expect(a.refreshExpiresAt).to.equal(b.refreshExpiresAt);
      for (const r of [a, b]) expect(decodeJwt(r.accessToken)).to.include({ sub: session.user.id });
      expect(decodeJwt(a.accessToken).jti).to.not.equal(decodeJwt(b.accessToken).jti);
      const [rows] = await h.db.query(
        "SELECT rotated_at IS NOT NULL AS rotated, revoked_at, encode(successor_sealed, 'hex') AS sealed FROM refresh_tokens WHERE user_id = :id ORDER BY created_at",
        { replacements: { id: session.user.id } },
      );
      expect(rows.map((r: any) => [r.rotated, r.revoked_at])).to.deep.equal([
        [true, null],
        [false, null],
      ]);
      // The successor is kept only sealed (under a key derived from the rotated token, which is not stored).
      expect((rows[0] as any).sealed).to.not.include(Buffer.from(a.refreshToken).toString('hex'));
      // The shared successor works, once.
      const next = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: a.refreshToken } });
      expect(next.status).to.equal(200);
    });

    it('a duplicate within the grace window after the successor was used is a reuse: the family is revoked', async () => {
      const session = await registerUser(h);
      const t1 = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      const t2 = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: t1.body.refreshToken } });
      expect(t2.status).to.equal(200);
      const late = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      expect(late.status).to.equal(401);
      expect(late.body.type).to.match(/\/refresh-token-reused$/);
      const newest = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: t2.body.refreshToken } });
      expect(newest.body.type).to.match(/\/refresh-token-revoked$/);
    });

    it('a replay racing a refresh of the newest token still revokes the whole family (no successor escapes)', async () => {
      // Each round: T0 rotated to T1; then T1 is refreshed while T0 is replayed at the same moment. Whatever the
      // order, the family must end with no live token (a successor minted during the revocation included).
      const rounds = 8;
      const leftovers = await Promise.all(
        Array.from({ length: rounds }, async () => {
          const session = await registerUser(h);
          const t1 = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
          expect(t1.status).to.equal(200);
          await pastGrace(session.user.id); // a replay, not a duplicate
          const [refresh, replay] = await Promise.all([
            h.call('POST', '/api/auth/refresh', { body: { refreshToken: t1.body.refreshToken } }),
            h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } }),
          ]);
          expect(replay.status).to.equal(401);
          expect(replay.body.type).to.match(/\/refresh-token-reused$/);
          expect(refresh.status).to.be.oneOf([200, 401]);
          const [live] = await h.db.query('SELECT id FROM refresh_tokens WHERE user_id = :id AND revoked_at IS NULL', {
            replacements: { id: session.user.id },
          });
          return live.length;
        }),
      );
      expect(leftovers).to.deep.equal(Array(rounds).fill(0));
    });

    it('leaves other sessions of the same user alone when one family is revoked', async () => {
      const session = await registerUser(h);
      const other = await h.call('POST', '/api/auth/login', {
        body: { email: session.user.email, password: PASSWORD },
      });
      await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      await pastGrace(session.user.id);
      await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } }); // reuse: family 1 revoked
      const res = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: other.body.refreshToken } });
      expect(res.status).to.equal(200);
    });

    it('refuses an expired refresh token with 401 refresh-token-expired and changes nothing', async () => {
      const session = await registerUser(h);
      await h.db.query("UPDATE refresh_tokens SET expires_at = now() - interval '1 minute' WHERE user_id = :id", {
        replacements: { id: session.user.id },
      });
      const before = await h.counts();
      const res = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      expect(res.status).to.equal(401);
      expect(res.body.type).to.match(/\/refresh-token-expired$/);
      expect(await h.counts()).to.deep.equal(before);
    });

    it('refuses a tampered or made-up refresh token with 401 invalid-refresh-token and changes nothing', async () => {
      const session = await registerUser(h);
      const t = session.refreshToken as string;
      const tampered = (t[0] === 'A' ? 'B' : 'A') + t.slice(1);
      const before = await h.counts();
      for (const refreshToken of [tampered, 'x'.repeat(43), 'not a token', session.accessToken.slice(0, 100)]) {
        const res = await h.call('POST', '/api/auth/refresh', { body: { refreshToken } });
        expect(res.status, refreshToken).to.equal(401);
        expect(res.body.type).to.match(/\/invalid-refresh-token$/);
      }
      expect(await h.counts()).to.deep.equal(before);
      // The genuine token still works: the failures did not revoke anything.
      expect((await h.call('POST', '/api/auth/refresh', { body: { refreshToken: t } })).status).to.equal(200);
    });

    it('rejects a refresh body that is missing the token, over-long or has extra fields (400)', async () => {
      const before = await h.counts();
      for (const body of [{}, { refreshToken: 'a'.repeat(101) }, { refreshToken: 'a'.repeat(43), extra: 1 }]) {
        const res = await h.call('POST', '/api/auth/refresh', { body });
        expect(res.status, JSON.stringify(body)).to.equal(400);
      }
      expect(await h.counts()).to.deep.equal(before);
    });

    it('logout revokes the session (its family) and is idempotent', async () => {
      const session = await registerUser(h);
      const rotated = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      const out = await h.call('POST', '/api/auth/logout', { body: { refreshToken: rotated.body.refreshToken } });
      expect(out.status).to.equal(204);
      const again = await h.call('POST', '/api/auth/logout', { body: { refreshToken: rotated.body.refreshToken } });
      expect(again.status).to.equal(204);
      const [rows] = await h.db.query('SELECT revoke_reason FROM refresh_tokens WHERE user_id = :id', {
        replacements: { id: session.user.id },
      });
      expect(rows.map((r: any) => r.revoke_reason)).to.deep.equal(['logout', 'logout']);
      const res = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } });
      expect(res.status).to.equal(401);
      expect(res.body.type).to.match(/\/refresh-token-revoked$/);
    });
  });
});
