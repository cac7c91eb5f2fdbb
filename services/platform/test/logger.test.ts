import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../src/logger.ts';
import { requestContext } from '../src/context.ts';
import { createMetrics } from '../src/metrics.ts';
import { createServiceApp, listen } from '../src/http.ts';

function capture(service = 'orders') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger(service, { destination, level: 'info' });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l)) };
}

// (the cvc is checked by structure below: a bare '123' could appear in a timestamp)
const SECRETS = [
  'hunter2',
  's3cret-new',
  'eyJhbGciOiJSUzI1NiJ9.access',
  'refresh-token-value',
  '4242424242424242',
  '4000 0000 0000 0002',
  'Bearer abc.def.ghi',
  'session=xyz',
  'api-secret',
];

describe('platform/logger', () => {
  it('logs an error given as a string as that string, and any other non-Error readably', () => {
    const { logger, records } = capture();
    logger.warn({ err: 'connect ECONNREFUSED 127.0.0.1:6379', redis: '127.0.0.1:6379' }, 'redis connection error');
    logger.warn({ err: 'card 4242424242424242 refused' }, 'payment failed');
    logger.warn({ err: 42 }, 'odd rejection');
    logger.warn({ err: { code: 'E_PSP', password: 'hunter2' } }, 'a plain object');
    logger.warn({ err: new Error('still an Error') }, 'an Error');
    const [str, card, num, obj, error] = records();
    expect(str.err).to.equal('connect ECONNREFUSED 127.0.0.1:6379');
    expect(card.err).to.equal('card [redacted] refused');
    expect(num.err).to.equal('42');
    expect(obj.err).to.deep.equal({ code: 'E_PSP', password: '[redacted]' });
    expect(error.err).to.include({ type: 'Error', message: 'still an Error' });
  });

  it('masks card numbers in the message, its format arguments, and an error message and stack', () => {
    const { logger, lines, records } = capture();
    logger.info('charging 4242 4242 4242 4242 for order o-1');
    logger.info('charging %s now', '4000000000000002');
    const err = new Error('PSP refused card 4242424242424242');
    err.cause = new Error('inner: 4000-0000-0000-0077');
    logger.error({ err }, 'payment failed');
    logger.error(new Error('top-level error with 4242424242424242'));
    const text = lines.join('');
    for (const card of ['4242 4242 4242 4242', '4000000000000002', '4242424242424242', '4000-0000-0000-0077'])
      expect(text, `leaked ${card}`).not.to.include(card);
    const [first, second, failed, top] = records();
    expect(first.msg).to.equal('charging [redacted] for order o-1');
    expect(second.msg).to.equal('charging [redacted] now');
    expect(failed.err.message).to.equal('PSP refused card [redacted]: inner: [redacted]'); // pino appends the cause
    expect(failed.err.type).to.equal('Error');
    expect(failed.err.stack).to.match(/^Error: PSP refused card \[redacted\]\n\s+at /);
    expect(top.err.message).to.equal('top-level error with [redacted]');
    // Ordinary numbers and ids stay readable.
    logger.info({ orderNumber: 1234567 }, 'order 1234567 at 1700000000000');
    expect(records()[4]).to.include({ msg: 'order 1234567 at 1700000000000', orderNumber: 1234567 });
  });

  it('redacts passwords, tokens, card data, Authorization and cookies wherever services log them', () => {
    const { logger, lines, records } = capture();
    logger.info({ password: 'hunter2', newPassword: 's3cret-new', token: 'eyJhbGciOiJSUzI1NiJ9.access' }, 'top level');
    logger.info(
      {
        body: {
          email: 'a@b.c',
          password: 'hunter2',
          accessToken: 'eyJhbGciOiJSUzI1NiJ9.access',
          refreshToken: 'refresh-token-value',
        },
      },
      'request body',
    );
    logger.info(
      { payment: { cardNumber: '4242424242424242', cvc: '123' }, card: { number: '4000 0000 0000 0002' } },
      'card',
    );
    logger.info(
      { req: { headers: { authorization: 'Bearer abc.def.ghi', cookie: 'session=xyz', accept: 'application/json' } } },
      'headers',
    );
    logger.info({ headers: { authorization: 'Bearer abc.def.ghi' }, config: { secret: 'api-secret' } }, 'more');
    // Header objects built in code keep their capitalisation.
    logger.info(
      {
        upstream: { headers: { Authorization: 'Bearer abc.def.ghi' } },
        Authorization: 'Bearer abc.def.ghi',
        call: { options: { headers: { authorization: 'Bearer abc.def.ghi' } } },
      },
      'outgoing',
    );
    const text = lines.join('');
    for (const secret of SECRETS) expect(text, `leaked ${secret}`).not.to.include(secret);
    const [top, body, card, headers] = records();
    expect(top).to.include({ password: '[redacted]', newPassword: '[redacted]', token: '[redacted]' });
    expect(body.body).to.deep.equal({
      email: 'a@b.c',
      password: '[redacted]',
      accessToken: '[redacted]',
      refreshToken: '[redacted]',
    });
    expect(card.payment).to.deep.equal({ cardNumber: '[redacted]', cvc: '[redacted]' });
    expect(headers.req.headers).to.deep.equal({
      authorization: '[redacted]',
      cookie: '[redacted]',
      accept: 'application/json',
    });
  });

  it('redacts secrets at any depth and under other spellings, and card numbers under any key, without touching the logged object', () => {
    const { logger, lines, records } = capture();
    const body = {
      order: { payment: { card: { number: '4242424242424242', cvc: '123', holder: 'Ada' } } },
      items: [{ seat: 'A1', password: 'in-array' }],
    };
    logger.info({ req: { body } }, 'deep');
    logger.info(
      {
        refresh_token: 'rt-value',
        client_secret: 'cs-value',
        apiKey: 'key-value',
        Cookie: 'sid=cookie-value',
        headers: { 'X-Api-Key': 'header-key', 'Set-Cookie': 'sid=set-cookie' },
      },
      'spellings',
    );
    logger.info(
      { note: 'paid with 4000-0000-0000-0002 today', orderNumber: '1715000000000', seats: 12, id: '42' },
      'values',
    );
    const text = lines.join('');
    for (const secret of [
      '4242424242424242',
      'in-array',
      'rt-value',
      'cs-value',
      'key-value',
      'cookie-value',
      'header-key',
      'set-cookie',
      '4000-0000-0000-0002',
    ]) {
      expect(text, `leaked ${secret}`).not.to.include(secret);
    }
    const [deep, spellings, values] = records();
    expect(deep.req.body.order.payment.card).to.deep.equal({ number: '[redacted]', cvc: '[redacted]', holder: 'Ada' });
    expect(deep.req.body.items).to.deep.equal([{ seat: 'A1', password: '[redacted]' }]);
    expect(spellings.headers).to.deep.equal({ 'X-Api-Key': '[redacted]', 'Set-Cookie': '[redacted]' });
    // a millisecond timestamp (not Luhn-shaped like a card) and plain numbers stay readable
    expect(values).to.include({
      note: 'paid with [redacted] today',
      orderNumber: '1715000000000',
      seats: 12,
      id: '42',
    });
    // the caller's object (often a live request body) is not modified
    expect(body.order.payment.card.number).to.equal('4242424242424242');
    expect(body.items[0]!.password).to.equal('in-array');
  });

  it('still serialises errors (message and stack) with redaction in place', () => {
    const { logger, records } = capture();
    logger.error({ err: new Error('lock lost'), holdId: 'h1' }, 'failed');
    const [record] = records();
    expect(record.err).to.include({ type: 'Error', message: 'lock lost' });
    expect(record.err.stack).to.include('lock lost');
    expect(record.holdId).to.equal('h1');
  });

  it('carries the service name always and the request id inside a request context', () => {
    const { logger, records } = capture('inventory');
    logger.info('outside');
    requestContext.run({ requestId: 'req-42' }, () => logger.warn({ holdId: 'h1' }, 'inside'));
    const [outside, inside] = records();
    expect(outside).to.include({ service: 'inventory', msg: 'outside', level: 'info' });
    expect(outside).not.to.have.property('request_id');
    expect(inside).to.include({ service: 'inventory', request_id: 'req-42', holdId: 'h1', level: 'warn' });
    expect(Date.parse(inside.time)).to.be.a('number').and.not.NaN;
  });

  it('the access log of a service carries its request id and no credentials', async () => {
    const { logger, lines, records } = capture('users');
    const app = createServiceApp({
      service: 'users',
      logger,
      metrics: createMetrics('users', { collectDefault: false }),
    });
    app.use((ctx) => {
      logger.info({ body: (ctx.request as any).body }, 'login attempt');
      ctx.body = { ok: true };
    });
    const server = await listen(app.callback(), 0);
    try {
      const res = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer abc.def.ghi', 'x-request-id': 'login-1' },
        body: JSON.stringify({ email: 'buyer@example.com', password: 'hunter2' }),
      });
      expect(res.status).to.equal(200);
    } finally {
      await server.close(1000);
    }
    expect(lines.join('')).not.to.include('hunter2').and.not.to.include('abc.def.ghi');
    const access = records().find((r) => r.msg === 'request');
    expect(access).to.include({
      service: 'users',
      request_id: 'login-1',
      method: 'POST',
      path: '/api/auth/login',
      status: 200,
    });
    expect(records().find((r) => r.msg === 'login attempt')).to.deep.include({
      request_id: 'login-1',
      body: { email: 'buyer@example.com', password: '[redacted]' },
    });
  });
});
