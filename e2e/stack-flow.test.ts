// End to end through `npm start`: the real runner starts Postgres, Redis and every service; a buyer goes
// through the gateway exactly as the app will (log in, browse the seeded events, watch the live seat map,
// hold seats, lose a race for them, release them). Later issues extend this to paying and tickets.
import { expect } from 'chai';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInternalTokenSigner } from '@eventtickets/platform';
import {
  gatewayApi,
  openSse,
  requireBinary,
  waitFor,
  type GatewayCallOptions,
  type SseClient,
} from '@eventtickets/platform/testing';
import { StackProcess, alive, freePortRange, tempDataDir } from '../scripts/test/stack-process.ts';

const DEMO_PASSWORD = 'e2e-demo-password-123';

describe('e2e: a buyer through the gateway of the whole local stack', function () {
  this.timeout(240_000);
  let stack: StackProcess;
  let dataDir: string;
  let gw: string;
  const sse: SseClient[] = [];

  let base: number;

  before(async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    dataDir = tempDataDir();
    base = await freePortRange();
    stack = new StackProcess({ PORT: '0', SERVICE_PORT_BASE: String(base), DEMO_PASSWORD }, dataDir);
    gw = await stack.ready();
  });

  after(async () => {
    for (const s of sse) s.close();
    if (stack) expect(await stack.stop('SIGINT')).to.equal(0);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const api = (method: string, path: string, opts?: GatewayCallOptions) => gatewayApi(gw)(method, path, opts);

  async function login(email: string, password = DEMO_PASSWORD): Promise<string> {
    const res = await api('POST', '/api/auth/login', { body: { email, password } });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.accessToken;
  }

  it('seeds the demo accounts and events (idempotently, through the public API)', async () => {
    await login('buyer@example.com');
    await login('organizer@example.com');
    const events = await api('GET', '/api/events?limit=50');
    expect(events.status).to.equal(200);
    const titles = events.body.items.map((e: any) => e.title);
    expect(titles).to.include.members(['Harbour Lights Orchestra', 'Late Night Jazz Session']);
    expect(titles.filter((t: string) => t === 'Harbour Lights Orchestra')).to.have.length(1);
  });

  it('serves the merged contract of every service and the Swagger UI', async () => {
    const doc = await api('GET', '/api/openapi.json');
    expect(doc.status).to.equal(200);
    const paths = Object.keys(doc.body.paths);
    expect(paths).to.include.members([
      '/api/auth/login',
      '/api/me',
      '/api/events',
      '/api/events/{id}',
      '/api/holds',
      '/api/events/{id}/availability',
    ]);
    const docs = await fetch(`${gw}/docs/`);
    expect(docs.status).to.equal(200);
    expect(await docs.text()).to.match(/swagger/i);
  });

  it('ignores identity headers sent from outside', async () => {
    const me = await api('GET', '/api/me', {
      headers: { 'x-user-id': '00000000-0000-4000-8000-000000000001', 'x-user-role': 'admin' },
    });
    expect(me.status).to.equal(401);
    expect(me.body.type).to.match(/problems\//);
  });

  it('a process on the same host cannot become an admin by calling a service directly', async () => {
    const users = `http://127.0.0.1:${base + 1}`;
    const inventory = `http://127.0.0.1:${base + 3}`;
    const admin = { userId: '00000000-0000-4000-8000-000000000001', role: 'admin' as const };
    const direct = async (url: string, headers: Record<string, string>) => {
      const res = await fetch(url, { headers });
      return { status: res.status, type: ((await res.json()) as { type?: string }).type };
    };
    const refused = { status: 401, type: 'https://eventtickets.dev/problems/invalid-internal-token' };
    // the attack of issue 15: identity headers straight to the service on loopback
    expect(await direct(`${users}/api/users`, { 'x-user-id': admin.userId, 'x-user-role': 'admin' })).to.deep.equal(
      refused,
    );
    const foreign = createInternalTokenSigner({ secret: 'a-guessed-secret-0123456789abcdefghijkl', issuer: 'gateway' });
    expect(await direct(`${users}/api/users`, foreign.headers('users', admin))).to.deep.equal(refused);
    // the stack generated one INTERNAL_TOKEN_SECRET, kept in DATA_DIR (mode 600), and gave it to every service
    const secretsFile = join(dataDir, 'secrets.json');
    expect(statSync(secretsFile).mode & 0o777).to.equal(0o600);
    const secret = JSON.parse(readFileSync(secretsFile, 'utf8')).INTERNAL_TOKEN_SECRET as string;
    expect(secret).to.have.length.of.at.least(32);
    const gateway = createInternalTokenSigner({ secret, issuer: 'gateway' });
    expect((await direct(`${users}/api/users`, gateway.headers('users', admin))).status).to.equal(200);
    expect(await direct(`${users}/api/users`, gateway.headers('catalog', admin))).to.deep.equal(refused);
    // internal routes answer the orders service only (a hold that does not exist: past authorisation, 404)
    const hold = `${inventory}/internal/holds/00000000-0000-4000-8000-00000000dead`;
    const orders = createInternalTokenSigner({ secret, issuer: 'orders' });
    expect((await direct(hold, orders.headers('inventory'))).status).to.equal(404);
    expect(await direct(hold, gateway.headers('inventory', admin))).to.deep.equal({
      status: 403,
      type: 'https://eventtickets.dev/problems/service-only',
    });
  });

  it('holds seats, shows them grey on the live stream, refuses them to a second buyer, and releases them', async () => {
    const buyer = await login('buyer@example.com');
    const events = await api('GET', '/api/events?q=Orchestra');
    const event = events.body.items.find((e: any) => e.title === 'Harbour Lights Orchestra');
    expect(event, 'seeded event').to.exist;

    // inventory materialises the seat map from catalog's event.published through the event bus
    const snapshot = await waitFor('availability from inventory', async () => {
      const res = await api('GET', `/api/events/${event.id}/availability`);
      return res.status === 200 && Object.keys(res.body.seats).length > 0 ? res.body : undefined;
    });
    const free = Object.entries(snapshot.seats as Record<string, string>)
      .filter(([, s]) => s === 'available')
      .map(([id]) => id);
    expect(free.length).to.be.greaterThan(100);
    const wanted = free.slice(0, 2);

    const stream = await openSse(`${gw}/api/events/${event.id}/availability/stream`);
    sse.push(stream);
    expect(stream.status).to.equal(200);
    const first = await stream.next();
    expect(first.event).to.equal('snapshot');

    const hold = await api('POST', '/api/holds', { token: buyer, body: { eventId: event.id, seats: wanted } });
    expect(hold.status, JSON.stringify(hold.body)).to.equal(201);
    expect(new Date(hold.body.expiresAt).getTime()).to.be.greaterThan(Date.now());

    const change = await stream.next(
      (m) => m.event === 'changes' && wanted.every((id) => changedTo(m.data, id) === 'held'),
    );
    expect(Number(change.id)).to.be.greaterThan(Number(first.id));

    const rivalEmail = `rival-${Date.now()}@example.com`;
    const reg = await api('POST', '/api/auth/register', {
      body: { email: rivalEmail, password: 'rival-password-1', name: 'Rival Buyer' },
    });
    expect(reg.status, JSON.stringify(reg.body)).to.equal(201);
    const rival = reg.body.accessToken;
    const lost = await api('POST', '/api/holds', {
      token: rival,
      body: { eventId: event.id, seats: [wanted[1], free[2]] },
    });
    expect(lost.status).to.equal(409);
    expect(lost.headers.get('content-type')).to.match(/problem\+json/);
    expect(JSON.stringify(lost.body)).to.include(wanted[1]);

    // the rival may not see or release someone else's hold
    expect((await api('GET', `/api/holds/${hold.body.id}`, { token: rival })).status).to.equal(404);
    expect((await api('DELETE', `/api/holds/${hold.body.id}`, { token: buyer })).status).to.equal(204);
    await stream.next((m) => m.event === 'changes' && wanted.every((id) => changedTo(m.data, id) === 'available'));

    const retry = await api('POST', '/api/holds', { token: rival, body: { eventId: event.id, seats: [wanted[1]] } });
    expect(retry.status).to.equal(201);
  });

  it('rejects a hold without a token at the gateway', async () => {
    const res = await api('POST', '/api/holds', { body: { eventId: 'x', seats: ['y'] } });
    expect(res.status).to.equal(401);
  });

  it('buys a ticket: hold, card, order, pay, ticket with its QR, receipt, check-in at the door', async () => {
    const buyer = await login('buyer@example.com');
    const organizer = await login('organizer@example.com');
    const events = await api('GET', '/api/events?q=Harbour');
    const event = events.body.items.find((e: any) => e.title === 'Harbour Lights Orchestra');
    expect(event, 'seeded event').to.exist;
    const seats = await waitFor('availability from inventory', async () => {
      const res = await api('GET', `/api/events/${event.id}/availability`);
      return res.status === 200 && Object.keys(res.body.seats).length > 0
        ? (res.body.seats as Record<string, string>)
        : undefined;
    });
    const seat = Object.entries(seats).filter(([, state]) => state === 'available')[5]![0];
    const hold = await api('POST', '/api/holds', { token: buyer, body: { eventId: event.id, seats: [seat] } });
    expect(hold.status, JSON.stringify(hold.body)).to.equal(201);

    // the card goes to payments only (tokenised); orders sees a payment-method id
    const card = { number: '4242 4242 4242 4242', expMonth: 12, expYear: new Date().getFullYear() + 2, cvc: '123' };
    const method = await api('POST', '/api/payments/methods', { token: buyer, body: { card } });
    expect(method.status, JSON.stringify(method.body)).to.equal(201);
    expect(method.body).to.include({ brand: 'visa', last4: '4242' });

    const order = await api('POST', '/api/orders', {
      token: buyer,
      body: { holdId: hold.body.id },
      headers: { 'idempotency-key': `e2e-order-${hold.body.id}` },
    });
    expect(order.status, JSON.stringify(order.body)).to.equal(201);
    const pay = () =>
      api('POST', `/api/orders/${order.body.id}/pay`, {
        token: buyer,
        body: { paymentMethodId: method.body.id },
        headers: { 'idempotency-key': `e2e-pay-${order.body.id}` },
      });
    const paid = await pay();
    expect(paid.status, JSON.stringify(paid.body)).to.equal(200);
    expect(paid.body.status).to.equal('confirmed');
    const again = await pay(); // a double click: the first result, no second charge
    expect(again.status).to.equal(200);
    expect(again.body.id).to.equal(paid.body.id);

    const tickets = await api('GET', '/api/tickets', { token: buyer });
    const ticket = tickets.body.items.find((t: any) => t.orderId === order.body.id);
    expect(ticket, JSON.stringify(tickets.body)).to.include({ eventId: event.id, seatId: seat, status: 'valid' });
    const qr = await fetch(`${gw}/api/tickets/${ticket.id}/qr.svg`, { headers: { authorization: `Bearer ${buyer}` } });
    expect(qr.status).to.equal(200);
    expect(qr.headers.get('content-type')).to.match(/^image\/svg\+xml/);
    expect(await qr.text()).to.match(/^<svg|^<\?xml/);
    const sold = await api('GET', `/api/events/${event.id}/availability`);
    expect(sold.body.seats[seat]).to.equal('sold');

    const receipt = await api('GET', `/api/orders/${order.body.id}/receipt`, { token: buyer });
    expect(receipt.status, JSON.stringify(receipt.body)).to.equal(200);
    expect(JSON.stringify(receipt.body)).to.include('4242');

    const admitted = await api('POST', '/api/checkins', { token: organizer, body: { code: ticket.code } });
    expect(admitted.status, JSON.stringify(admitted.body)).to.equal(201);
    const twice = await api('POST', '/api/checkins', { token: organizer, body: { code: ticket.code } });
    expect(twice.status).to.equal(409);
  });

  it('keeps a committed hold when the whole stack is killed outright (SIGKILL) right after it', async () => {
    const buyer = await login('buyer@example.com');
    const events = await api('GET', '/api/events?q=Jazz');
    const event = events.body.items.find((e: any) => e.title === 'Late Night Jazz Session');
    expect(event, 'seeded event').to.exist;
    const seats = await waitFor('availability from inventory', async () => {
      const res = await api('GET', `/api/events/${event.id}/availability`);
      return res.status === 200 && Object.keys(res.body.seats).length > 0
        ? (res.body.seats as Record<string, string>)
        : undefined;
    });
    const seat = Object.entries(seats).find(([, state]) => state === 'available')![0];
    const hold = await api('POST', '/api/holds', { token: buyer, body: { eventId: event.id, seats: [seat] } });
    expect(hold.status, JSON.stringify(hold.body)).to.equal(201);

    // a power cut for the processes: the runner and every process group it started (Postgres's backends too)
    const record = stack.pids();
    const pids = [record.runner, ...record.processes.map((p) => p.pid)];
    process.kill(record.runner, 'SIGKILL');
    for (const p of record.processes) {
      try {
        process.kill(-p.pid, 'SIGKILL'); // each runs in a session (and process group) of its own
      } catch {
        process.kill(p.pid, 'SIGKILL');
      }
    }
    await stack.exited;
    await waitFor('every process of the killed stack to be gone', () => pids.every((pid) => !alive(pid)));

    stack = new StackProcess({ PORT: '0', SERVICE_PORT_BASE: String(base), DEMO_PASSWORD }, dataDir);
    gw = await stack.ready();
    expect(stack.output).to.contain('postgres: reusing the cluster');
    const again = await api('GET', `/api/holds/${hold.body.id}`, { token: await login('buyer@example.com') });
    expect(again.status, JSON.stringify(again.body)).to.equal(200);
    expect(again.body.id).to.equal(hold.body.id);
    expect(JSON.stringify(again.body)).to.include(seat);
  });
});

/** A seat's last status in a `changes` message (an array of changes, inventory's contract), if it changed. */
function changedTo(changes: { seats?: Record<string, string> }[], seatId: string): string | undefined {
  let status: string | undefined;
  for (const c of changes) status = c.seats?.[seatId] ?? status;
  return status;
}
