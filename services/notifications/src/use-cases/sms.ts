// SMS through a provider interface. Three providers, chosen by SMS_PROVIDER:
//   log     writes the SMS to the service log (nothing leaves the machine)
//   http    POSTs JSON { id, to, from, text } to SMS_HTTP_URL, signed: x-eventtickets-signature is
//           t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with SMS_HTTP_SECRET> (as payments' webhooks)
//   twilio  a Twilio-style Messages API: POST {base}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded
//           To, From, Body, basic auth sid:token
// A non-2xx answer or a network error throws: the delivery worker records a failed attempt and retries.
import { createHmac } from 'node:crypto';
import type { Logger } from '@eventtickets/platform';
import type { NotificationsConfig } from '../config.ts';

export interface OutgoingSms {
  messageId: string;
  to: string;
  text: string;
}

export interface SmsProvider {
  readonly name: string;
  send(sms: OutgoingSms): Promise<{ providerId: string }>;
}

export function signSmsBody(secret: string, body: string, at: number): string {
  const v1 = createHmac('sha256', secret).update(`${at}.${body}`).digest('hex');
  return `t=${at},v1=${v1}`;
}

async function post(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    const detail = (await res.text().catch(() => '')).slice(0, 200);
    throw new Error(`SMS provider answered ${res.status}${detail ? `: ${detail}` : ''}`);
  }
  return res;
}

export function createLogSmsProvider(logger: Logger): SmsProvider {
  return {
    name: 'log',
    async send(sms) {
      logger.info({ smsTo: sms.to, text: sms.text, messageId: sms.messageId }, 'SMS (log provider)');
      return { providerId: `log-${sms.messageId}` };
    },
  };
}

export function createHttpSmsProvider(opts: {
  url: string;
  secret: string;
  from: string;
  timeoutMs: number;
}): SmsProvider {
  return {
    name: 'http',
    async send(sms) {
      const body = JSON.stringify({ id: sms.messageId, to: sms.to, from: opts.from, text: sms.text });
      const res = await post(
        opts.url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-eventtickets-signature': signSmsBody(opts.secret, body, Math.floor(Date.now() / 1000)),
            'idempotency-key': sms.messageId,
          },
          body,
        },
        opts.timeoutMs,
      );
      const answer = (await res.json().catch(() => ({}))) as { id?: unknown };
      return { providerId: typeof answer.id === 'string' ? answer.id : sms.messageId };
    },
  };
}

export function createTwilioSmsProvider(opts: {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  from: string;
  timeoutMs: number;
}): SmsProvider {
  return {
    name: 'twilio',
    async send(sms) {
      const url = `${opts.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(opts.accountSid)}/Messages.json`;
      const res = await post(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`,
          },
          body: new URLSearchParams({ To: sms.to, From: opts.from, Body: sms.text }).toString(),
        },
        opts.timeoutMs,
      );
      const answer = (await res.json().catch(() => ({}))) as { sid?: unknown };
      return { providerId: typeof answer.sid === 'string' ? answer.sid : sms.messageId };
    },
  };
}

export function createSmsProvider(config: NotificationsConfig, logger: Logger): SmsProvider {
  switch (config.SMS_PROVIDER) {
    case 'http':
      return createHttpSmsProvider({
        url: config.SMS_HTTP_URL!,
        secret: config.SMS_HTTP_SECRET!,
        from: config.SMS_FROM,
        timeoutMs: config.SEND_TIMEOUT_MS,
      });
    case 'twilio':
      return createTwilioSmsProvider({
        baseUrl: config.TWILIO_BASE_URL,
        accountSid: config.TWILIO_ACCOUNT_SID!,
        authToken: config.TWILIO_AUTH_TOKEN!,
        from: config.SMS_FROM,
        timeoutMs: config.SEND_TIMEOUT_MS,
      });
    default:
      return createLogSmsProvider(logger);
  }
}
