// The parts without a database: retry delays, configuration refused at start, the SMS providers on the wire
// (the signed HTTP provider and the Twilio-style adapter against a fake upstream), the templates.
import { expect } from 'chai';
import { loadConfig } from '@eventtickets/platform';
import { startFakeUpstream, type FakeUpstream } from '@eventtickets/platform/testing';
import { verifySmsSignature } from '../../../scripts/stack/mail-sink.ts';
import { configSchema } from '../src/config.ts';
import { retryDelayMs } from '../src/domain/backoff.ts';
import { renderMail, smsText } from '../src/domain/messages.ts';
import { createHttpSmsProvider, createTwilioSmsProvider } from '../src/use-cases/sms.ts';

const base = {
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/n',
  REDIS_URL: 'redis://127.0.0.1:6379',
  INTERNAL_TOKEN_SECRET: 'x'.repeat(40),
};

describe('notifications: retry delays, config, SMS providers, templates', () => {
  let fake: FakeUpstream;
  let answer = 200;
  before(async () => {
    fake = await startFakeUpstream('sms', async (ctx, record) => {
      await record();
      ctx.status = answer;
      ctx.body = answer === 200 ? { id: 'prov-1', sid: 'SM123' } : { error: 'nope' };
      return true;
    });
  });
  after(async () => {
    await fake?.close();
  });

  it('retry delays double from the base up to the cap, with at most 10 % jitter below', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(a, 1000, 10_000, none))).to.deep.equal([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
    expect(retryDelayMs(3, 1000, 10_000, () => 1)).to.equal(3600);
    expect(retryDelayMs(60, 1000, 10_000, none)).to.equal(10_000);
  });

  it('refuses at start: the http provider without URL and secret, twilio without credentials, a non-SMTP URL', () => {
    const fail = (env: Record<string, string>) => {
      try {
        loadConfig(configSchema, { ...base, ...env } as NodeJS.ProcessEnv);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(fail({ SMS_PROVIDER: 'http' }))
      .to.match(/SMS_HTTP_URL/)
      .and.match(/SMS_HTTP_SECRET/);
    expect(fail({ SMS_PROVIDER: 'twilio' })).to.match(/TWILIO_ACCOUNT_SID/);
    expect(fail({ SMTP_URL: 'http://mail.example' })).to.match(/SMTP_URL/);
    expect(fail({ SMS_PROVIDER: 'carrier-pigeon' })).to.match(/SMS_PROVIDER/);
    expect(loadConfig(configSchema, base as NodeJS.ProcessEnv).SMS_PROVIDER).to.equal('log');
  });

  it('the HTTP provider POSTs JSON signed with HMAC-SHA256; a non-2xx answer throws (a failed attempt)', async () => {
    const secret = 's'.repeat(40);
    const sms = createHttpSmsProvider({ url: `${fake.url}/sms`, secret, from: 'ET', timeoutMs: 5000 });
    answer = 200;
    expect(await sms.send({ messageId: 'm-1', to: '+33611111111', text: 'hello' })).to.deep.equal({
      providerId: 'prov-1',
    });
    const req = fake.seen.at(-1)!;
    expect(req.method).to.equal('POST');
    expect(req.headers['content-type']).to.equal('application/json');
    const body = req.body.toString();
    expect(JSON.parse(body)).to.deep.equal({ id: 'm-1', to: '+33611111111', from: 'ET', text: 'hello' });
    expect(verifySmsSignature(secret, req.headers['x-eventtickets-signature'] as string, body)).to.equal(true);
    expect(verifySmsSignature('t'.repeat(40), req.headers['x-eventtickets-signature'] as string, body)).to.equal(false);
    answer = 503;
    let err: Error | undefined;
    await sms.send({ messageId: 'm-2', to: '+33611111111', text: 'x' }).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/503/);
  });

  it('the Twilio-style adapter posts To/From/Body form-encoded to Accounts/{sid}/Messages.json with basic auth', async () => {
    answer = 200;
    const sms = createTwilioSmsProvider({
      baseUrl: fake.url,
      accountSid: 'AC1',
      authToken: 'tok',
      from: '+15550001',
      timeoutMs: 5000,
    });
    expect(await sms.send({ messageId: 'm-3', to: '+33622222222', text: 'hi there' })).to.deep.equal({
      providerId: 'SM123',
    });
    const req = fake.seen.at(-1)!;
    expect(req.url).to.equal('/2010-04-01/Accounts/AC1/Messages.json');
    expect(req.headers.authorization).to.equal(`Basic ${Buffer.from('AC1:tok').toString('base64')}`);
    expect(Object.fromEntries(new URLSearchParams(req.body.toString()))).to.deep.equal({
      To: '+33622222222',
      From: '+15550001',
      Body: 'hi there',
    });
  });

  it('templates: every kind has a subject, HTML and text naming the event; SMS fit one message', () => {
    const data = {
      name: 'Ann',
      appUrl: 'https://t.example',
      orderId: 'o-1',
      event: { title: 'Show', venueName: 'Hall', startsAt: '2030-01-01T20:00:00.000Z', timeZone: 'Europe/Paris' },
      tickets: [{ ticketId: 't-1', seatLabel: 'A1' }],
      totals: [{ amount: 4550, currency: 'EUR' }],
      amount: 4550,
      currency: 'EUR',
      reason: 'event-cancelled',
    };
    for (const kind of ['order-confirmed', 'payment-failed', 'order-refunded', 'event-cancelled'] as const) {
      const mail = renderMail(kind, data);
      expect(mail.subject).to.include('Show');
      expect(mail.html).to.include('Hello Ann').and.include('Hall');
      expect(mail.text).to.include('Hello Ann').and.include('Show');
      expect(smsText(kind, data).length).to.be.at.most(160);
    }
    expect(renderMail('order-refunded', data).text).to.include('€45.50').and.include('the event was cancelled');
  });
});
