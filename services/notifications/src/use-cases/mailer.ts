// E-mail over SMTP with nodemailer (SMTP_URL). One transport, pooled connections; each send is bounded by
// SEND_TIMEOUT_MS. The Message-ID is derived from the message's id, so a receiving system can tell a resend
// (after a crash between the SMTP accept and the log update) from a new mail.
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  messageId: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  attachments?: Array<{ filename: string; content: Buffer; contentType: string; cid: string }>;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ providerId: string }>;
  close(): void;
}

export function createSmtpMailer(opts: { url: string; from: string; timeoutMs: number }): Mailer {
  const transport = nodemailer.createTransport(opts.url, {
    from: opts.from,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  } as Parameters<typeof nodemailer.createTransport>[1]);
  return {
    async send(mail) {
      const info = await transport.sendMail({
        to: mail.to,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
        messageId: `<${mail.messageId}@notifications.eventtickets>`,
        attachments: mail.attachments?.map((a) => ({ ...a, contentDisposition: 'inline' as const })),
      });
      return { providerId: String(info.messageId ?? mail.messageId) };
    },
    close: () => transport.close(),
  };
}
