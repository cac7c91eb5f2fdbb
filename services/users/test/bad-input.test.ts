// Bad input is a 400 naming the field, never a 500: a path parameter that is not percent-encoded UTF-8, a NUL
// anywhere, control characters in a name; and a name is stored in Unicode NFC.
import { expect } from 'chai';
import { PROBLEM_BASE } from '@eventtickets/platform';
import { makeAdmin, registerUser, startUsers, uniqueEmail, PASSWORD, type UsersHarness } from './helpers.ts';

describe('users: bad input (real Postgres)', function () {
  let h: UsersHarness;
  before(async function () {
    h = await startUsers(this);
  });
  after(async () => h?.close());

  function expectFieldProblem(res: { status: number; body: any }, errors: Array<{ field: string; message: string }>) {
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.type).to.equal(`${PROBLEM_BASE}validation-error`);
    expect(res.body.errors).to.deep.equal(errors);
  }

  it('PATCH /api/users/%ZZ/role: a path parameter that is not percent-encoded UTF-8 is a 400', async () => {
    const admin = await makeAdmin(h);
    const res = await h.call('PATCH', '/api/users/%ZZ/role', { identity: admin, body: { role: 'organizer' } });
    expectFieldProblem(res, [{ field: 'path.id', message: 'is not valid percent-encoded UTF-8' }]);
  });

  it('a NUL is a 400 naming the field; control characters in a name too; nothing is stored', async () => {
    const before = await h.counts();
    const nul = await h.call('POST', '/api/auth/register', {
      body: { email: uniqueEmail(), password: `${PASSWORD}\u0000`, name: 'Nul Person' },
    });
    expectFieldProblem(nul, [{ field: 'requestBody.password', message: 'must not contain the NUL character' }]);
    const control = await h.call('POST', '/api/auth/register', {
      body: { email: uniqueEmail(), password: PASSWORD, name: 'Bell\u0007Person' },
    });
    expectFieldProblem(control, [{ field: 'requestBody.name', message: 'must not contain control characters' }]);
    expect(await h.counts()).to.deep.equal(before);
  });

  it('stores a name in Unicode NFC', async () => {
    const session = await registerUser(h, { name: 'Zoe\u0308 Jose\u0301' });
    expect(session.user.name).to.equal('Zo\u00eb Jos\u00e9');
    const me = await h.call('PATCH', '/api/me', {
      identity: { userId: session.user.id, role: 'buyer', email: session.user.email },
      body: { name: 'Ame\u0301lie' },
    });
    expect(me.status, JSON.stringify(me.body)).to.equal(200);
    expect(me.body.name).to.equal('Am\u00e9lie');
  });
});
