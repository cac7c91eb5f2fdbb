// E-mail over SMTP with nodemailer (SMTP_URL). One transport, pooled connections; each send is bounded by
// SEND_TIMEOUT_MS. The Message-ID is derived from the message's id, so a receiving system can tell a resend
// (after a crash between the SMTP accept and the log update) from a new mail. nodemailer is loaded and the
// transport made with the first mail, not at start (issue 19: ~2.8 MiB of heap an idle service kept).
import type nodemailer from 'nodemailer';

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

type Transport = ReturnType<typeof nodemailer.createTransport>;

export function createSmtpMailer(opts: { url: string; from: string; timeoutMs: number }): Mailer {
  let transport: Promise<Transport> | undefined;
  let closed = false;
  const connect = () =>
    (transport ??= import('nodemailer').then(({ default: mailer }) => {
      const made = mailer.createTransport(opts.url, {
        from: opts.from,
        connectionTimeout: opts.timeoutMs,
        greetingTimeout: opts.timeoutMs,
        socketTimeout: opts.timeoutMs,
      } as Parameters<typeof mailer.createTransport>[1]);
      if (closed) made.close();
      return made;
    }));
  return {
    async send(mail) {
      const info = await (
        await connect()
      ).sendMail({
        to: mail.to,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
        messageId: `<${mail.messageId}@notifications.eventtickets>`,
        attachments: mail.attachments?.map((a) => ({ ...a, contentDisposition: 'inline' as const })),
      });
      return { providerId: String(info.messageId ?? mail.messageId) };
    },
    close: () => {
      closed = true;
      void transport?.then((t) => t.close());
    },
  };
}
