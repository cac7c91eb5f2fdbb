// The local SMTP sink and dev mailbox (dev only: it runs in the stack runner and in tests, never in the
// notifications image). An SMTP server (the `smtp-server` package) accepts every mail and keeps it in memory,
// parsed (`mailparser`); an HTTP server shows the dev mailbox page (mails and SMS, newest first), each mail as
// its HTML with the inline images (cid:) served alongside, and takes SMS on POST /sms as the notifications
// HTTP SMS provider sends them (JSON, HMAC-signed: a wrong signature is 401 and nothing is kept).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SinkMail {
  n: number;
  receivedAt: string;
  envelopeTo: string[];
  from: string;
  to: string;
  subject: string;
  messageId: string;
  html: string;
  text: string;
  attachments: Array<{ cid: string; contentType: string; filename: string; content: Buffer; inline: boolean }>;
}

export interface SinkSms {
  n: number;
  receivedAt: string;
  id: string;
  to: string;
  from: string;
  text: string;
}

export interface MailSink {
  smtpUrl: string;
  smtpPort: number;
  /** The dev mailbox page. */
  mailboxUrl: string;
  /** Where the notifications HTTP SMS provider posts (SMS_HTTP_URL). */
  smsUrl: string;
  mails: SinkMail[];
  sms: SinkSms[];
  /** Recipients answered with a permanent 550 (tests: a message that can never be delivered). */
  rejectRecipients: Set<string>;
  /** Stops accepting SMTP connections (the port is closed) until smtpUp(). */
  smtpDown(): Promise<void>;
  smtpUp(): Promise<void>;
  close(): Promise<void>;
}

export interface MailSinkOptions {
  host?: string;
  /** 0: any free port. */
  smtpPort?: number;
  httpPort?: number;
  /** Secret the SMS provider signs with; SMS are refused without a valid signature. */
  smsSecret: string;
  /** At most this many mails and SMS kept (oldest dropped). Default 500. */
  keep?: number;
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function addressText(a: ParsedMail['to'] | ParsedMail['from']): string {
  if (!a) return '';
  return (Array.isArray(a) ? a : [a]).map((x) => x.text).join(', ');
}

export function verifySmsSignature(secret: string, header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const want = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex'));
}

export async function startMailSink(opts: MailSinkOptions): Promise<MailSink> {
  const host = opts.host ?? '127.0.0.1';
  const keep = opts.keep ?? 500;
  const mails: SinkMail[] = [];
  const sms: SinkSms[] = [];
  const rejectRecipients = new Set<string>();
  let mailCount = 0;
  let smsCount = 0;

  const newSmtp = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      size: 25 * 1024 * 1024,
      onRcptTo(address, _session, cb) {
        if (rejectRecipients.has(address.address.toLowerCase())) {
          const err = new Error('mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = 550;
          return cb(err);
        }
        cb();
      },
      onData(stream, session, cb) {
        // mailparser (iconv-lite, libmime, html-to-text...) loads with the first mail, not on every npm start
        import('mailparser')
          .then(({ simpleParser }) => simpleParser(stream, { keepCidLinks: true }))
          .then((parsed) => {
            mails.push({
              n: ++mailCount,
              receivedAt: new Date().toISOString(),
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              from: addressText(parsed.from),
              to: addressText(parsed.to),
              subject: parsed.subject ?? '',
              messageId: parsed.messageId ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              text: parsed.text ?? '',
              attachments: parsed.attachments.map((a) => ({
                cid: a.cid ?? '',
                contentType: a.contentType,
                filename: a.filename ?? '',
                content: a.content,
                inline: a.contentDisposition === 'inline' || !!a.related,
              })),
            });
            if (mails.length > keep) mails.shift();
            cb();
          })
          .catch((err: Error) => cb(err));
      },
    });

  let smtp = newSmtp();
  const listenSmtp = (port: number) =>
    new Promise<number>((resolve, reject) => {
      smtp.once('error', reject);
      smtp.listen(port, host, () => {
        smtp.off('error', reject);
        resolve((smtp.server.address() as AddressInfo).port);
      });
    });
  const smtpPort = await listenSmtp(opts.smtpPort ?? 0);
  let smtpOpen = true;
  const closeSmtp = () =>
    new Promise<void>((resolve) => {
      if (!smtpOpen) return resolve();
      smtpOpen = false;
      smtp.close(() => resolve());
    });

  const http: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sink');
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'POST' && url.pathname === '/sms') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (!verifySmsSignature(opts.smsSecret, req.headers['x-eventtickets-signature'] as string, body))
          return send(401, 'application/json', JSON.stringify({ error: 'bad signature' }));
        try {
          const m = JSON.parse(body) as { id: string; to: string; from: string; text: string };
          sms.push({
            n: ++smsCount,
            receivedAt: new Date().toISOString(),
            id: m.id,
            to: m.to,
            from: m.from,
            text: m.text,
          });
          if (sms.length > keep) sms.shift();
          send(201, 'application/json', JSON.stringify({ id: `sink-sms-${smsCount}` }));
        } catch {
          send(400, 'application/json', JSON.stringify({ error: 'not JSON' }));
        }
      });
      return;
    }
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed');
    const mail = /^\/mail\/(\d+)(?:\/(text|cid\/(.+)))?$/.exec(url.pathname);
    if (mail) {
      const m = mails.find((x) => x.n === Number(mail[1]));
      if (!m) return send(404, 'text/plain', 'no such mail');
      if (mail[2] === 'text') return send(200, 'text/plain; charset=utf-8', m.text);
      if (mail[3]) {
        const a = m.attachments.find((x) => x.cid === decodeURIComponent(mail[3]!));
        return a ? send(200, a.contentType, a.content) : send(404, 'text/plain', 'no such part');
      }
      const html = m.html.replace(
        /(["'])cid:([^"']+)\1/g,
        (_all, q: string, cid: string) => `${q}/mail/${m.n}/cid/${encodeURIComponent(cid)}${q}`,
      );
      return send(200, 'text/html; charset=utf-8', html || `<pre>${esc(m.text)}</pre>`);
    }
    if (url.pathname === '/messages.json')
      return send(
        200,
        'application/json',
        JSON.stringify({
          mails: mails.map(({ attachments, ...m }) => ({ ...m, attachments: attachments.map((a) => a.filename) })),
          sms,
        }),
      );
    if (url.pathname !== '/') return send(404, 'text/plain', 'not found');
    const rows = [...mails]
      .reverse()
      .map(
        (m) =>
          `<tr><td>${esc(m.receivedAt)}</td><td>${esc(m.envelopeTo.join(', '))}</td><td><a href="/mail/${m.n}">${esc(m.subject)}</a></td><td>${m.attachments.length}</td><td><a href="/mail/${m.n}/text">text</a></td></tr>`,
      )
      .join('');
    const smsRows = [...sms]
      .reverse()
      .map((s) => `<tr><td>${esc(s.receivedAt)}</td><td>${esc(s.to)}</td><td>${esc(s.text)}</td></tr>`)
      .join('');
    send(
      200,
      'text/html; charset=utf-8',
      `<!doctype html><html><head><meta charset="utf-8"><title>Dev mailbox</title><meta http-equiv="refresh" content="10">
<style>body{font-family:system-ui,sans-serif;margin:24px}table{border-collapse:collapse;width:100%;margin-bottom:32px}td,th{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left}th{background:#f4f4f8}</style></head>
<body><h1>Dev mailbox</h1><p>What the local SMTP sink (port ${smtpPort}) and SMS endpoint received since the stack started (kept in memory; refreshes every 10 s).</p>
<h2>E-mail (${mails.length})</h2><table><tr><th>received</th><th>to</th><th>subject</th><th>images</th><th></th></tr>${rows || '<tr><td colspan="5">none yet</td></tr>'}</table>
<h2>SMS (${sms.length})</h2><table><tr><th>received</th><th>to</th><th>text</th></tr>${smsRows || '<tr><td colspan="3">none yet</td></tr>'}</table></body></html>`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.httpPort ?? 0, host, () => resolve());
  });
  const httpPort = (http.address() as AddressInfo).port;
  const base = `http://${host}:${httpPort}`;

  return {
    smtpUrl: `smtp://${host}:${smtpPort}`,
    smtpPort,
    mailboxUrl: `${base}/`,
    smsUrl: `${base}/sms`,
    mails,
    sms,
    rejectRecipients,
    smtpDown: closeSmtp,
    async smtpUp() {
      if (smtpOpen) return;
      smtp = newSmtp();
      await listenSmtp(smtpPort);
      smtpOpen = true;
    },
    async close() {
      await closeSmtp();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
