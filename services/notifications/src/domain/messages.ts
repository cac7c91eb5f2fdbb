// What each message says: pure functions from the facts of an event (and, for a confirmation, its tickets and
// receipt) to an e-mail (subject, HTML, plain text) or an SMS text. No I/O here; the QR images arrive as
// content ids (cid:...) the mail carries as inline attachments.
import { escapeHtml, money, when } from './format.ts';

export type MessageKind = 'order-confirmed' | 'payment-failed' | 'order-refunded' | 'event-cancelled';

export interface EventFacts {
  title: string;
  venueName: string;
  startsAt: string;
  timeZone: string;
}

/** What the consumer records with a message (JSON in the delivery log). */
export interface MessageData {
  name: string;
  appUrl: string;
  orderId?: string;
  eventId?: string;
  event: EventFacts | null;
  tickets?: Array<{ ticketId: string; seatLabel: string }>;
  totals?: Array<{ amount: number; currency: string }>;
  amount?: number;
  currency?: string;
  reason?: string;
}

export interface Receipt {
  number: string;
  currency: string;
  lines: Array<{ description: string; quantity: number; unitAmount: number; amount: number }>;
  fees: Array<{ description: string; amount: number }>;
  taxes: Array<{ description: string; rate: number; amount: number }>;
  total: number;
  card: { brand: string; last4: string };
}

/** Filled in at send time for an order confirmation. */
export interface ConfirmationExtras {
  tickets: Array<{ ticketId: string; label: string; code: string; cid: string }>;
  receipt: Receipt | null;
}

export interface Mail {
  subject: string;
  html: string;
  text: string;
}

const REFUND_REASONS: Record<string, string> = {
  'buyer-cancelled': 'you cancelled your order',
  'event-cancelled': 'the event was cancelled',
  'late-payment': 'your payment arrived after your seats could no longer be kept, so it was refunded automatically',
};

const eventName = (d: MessageData) => d.event?.title ?? 'your event';

export function subjectOf(kind: MessageKind, d: MessageData): string {
  switch (kind) {
    case 'order-confirmed':
      return `Your tickets for ${eventName(d)}`;
    case 'payment-failed':
      return `Payment failed for ${eventName(d)}`;
    case 'order-refunded':
      return `Refund of ${money(d.amount ?? 0, d.currency ?? 'EUR')} for ${eventName(d)}`;
    case 'event-cancelled':
      return `Cancelled: ${eventName(d)}`;
  }
}

export function smsText(kind: MessageKind, d: MessageData): string {
  const ev = eventName(d);
  switch (kind) {
    case 'order-confirmed':
      return `EventTickets: your ${d.tickets?.length ?? 0} ticket(s) for ${ev} are confirmed. Tickets and QR codes: ${d.appUrl}/tickets`;
    case 'payment-failed':
      return `EventTickets: your payment for ${ev} failed${d.reason ? ` (${d.reason})` : ''}. Your seats stay held for a while: ${d.appUrl}/orders/${d.orderId}`;
    case 'order-refunded':
      return `EventTickets: ${money(d.amount ?? 0, d.currency ?? 'EUR')} refunded for ${ev}.`;
    case 'event-cancelled':
      return `EventTickets: ${ev} is cancelled. Your order is refunded in full.`;
  }
}

function totalsText(totals: MessageData['totals']): string {
  return (totals ?? []).map((t) => money(t.amount, t.currency)).join(' + ') || money(0, 'EUR');
}

function eventLines(d: MessageData): { html: string; text: string } {
  if (!d.event) return { html: '', text: '' };
  const at = when(d.event.startsAt, d.event.timeZone);
  return {
    html: `<p style="margin:0 0 16px;color:#444">${escapeHtml(d.event.venueName)} · ${escapeHtml(at)}</p>`,
    text: `${d.event.venueName}, ${at}\n`,
  };
}

function layout(title: string, body: string, d: MessageData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title></head>
<body style="margin:0;padding:0;background:#f2f3f7;font-family:Helvetica,Arial,sans-serif;color:#1b1b1f">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f2f3f7;padding:24px 0">
<tr><td align="center">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;background:#ffffff;border-radius:8px;overflow:hidden">
<tr><td style="background:#3f2b96;padding:20px 28px;color:#ffffff;font-size:20px;font-weight:bold">EventTickets</td></tr>
<tr><td style="padding:28px">
<h1 style="margin:0 0 8px;font-size:22px">${escapeHtml(title)}</h1>
${body}
</td></tr>
<tr><td style="padding:16px 28px;background:#fafafa;color:#777;font-size:12px">
You receive this because of your order on EventTickets. Your orders and tickets: <a href="${escapeHtml(d.appUrl)}/tickets" style="color:#3f2b96">${escapeHtml(d.appUrl)}/tickets</a>
</td></tr>
</table>
</td></tr></table>
</body></html>`;
}

function receiptHtml(r: Receipt): string {
  const row = (label: string, amount: string, strong = false) =>
    `<tr><td style="padding:4px 0;${strong ? 'font-weight:bold;border-top:1px solid #ddd' : ''}">${escapeHtml(label)}</td><td align="right" style="padding:4px 0;${strong ? 'font-weight:bold;border-top:1px solid #ddd' : ''}">${escapeHtml(amount)}</td></tr>`;
  return `<h2 style="font-size:16px;margin:24px 0 8px">Receipt ${escapeHtml(r.number)}</h2>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="font-size:14px">
${r.lines.map((l) => row(`${l.quantity} × ${l.description}`, money(l.amount, r.currency))).join('\n')}
${r.fees.map((f) => row(f.description, money(f.amount, r.currency))).join('\n')}
${row('Total paid', money(r.total, r.currency), true)}
${r.taxes.map((x) => `<tr><td colspan="2" style="color:#777;font-size:12px">incl. ${escapeHtml(x.description)} (${x.rate} %): ${escapeHtml(money(x.amount, r.currency))}</td></tr>`).join('\n')}
</table>
<p style="color:#777;font-size:12px;margin:8px 0 0">Paid with ${escapeHtml(r.card.brand)} •••• ${escapeHtml(r.card.last4)}</p>`;
}

function receiptText(r: Receipt): string {
  return [
    `Receipt ${r.number}`,
    ...r.lines.map((l) => `  ${l.quantity} x ${l.description}: ${money(l.amount, r.currency)}`),
    ...r.fees.map((f) => `  ${f.description}: ${money(f.amount, r.currency)}`),
    `  Total paid: ${money(r.total, r.currency)}`,
    ...r.taxes.map((x) => `  incl. ${x.description} (${x.rate} %): ${money(x.amount, r.currency)}`),
    `  Paid with ${r.card.brand} **** ${r.card.last4}`,
  ].join('\n');
}

export function renderMail(kind: MessageKind, d: MessageData, extras?: ConfirmationExtras): Mail {
  const subject = subjectOf(kind, d);
  const hello = `<p style="margin:0 0 16px">Hello ${escapeHtml(d.name || 'there')},</p>`;
  const ev = eventLines(d);
  const title = eventName(d);
  let html: string;
  let text: string;
  switch (kind) {
    case 'order-confirmed': {
      const tickets = extras?.tickets ?? [];
      html =
        hello +
        `<p style="margin:0 0 8px">Your order is confirmed. Show one QR code per person at the door.</p>` +
        `<h2 style="font-size:18px;margin:16px 0 4px">${escapeHtml(title)}</h2>` +
        ev.html +
        tickets
          .map(
            (
              t,
            ) => `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border:1px solid #e3e3ea;border-radius:6px;margin:0 0 12px">
<tr><td style="padding:12px;width:172px"><img src="cid:${escapeHtml(t.cid)}" width="160" height="160" alt="QR code of ticket ${escapeHtml(t.label)}" style="display:block"></td>
<td style="padding:12px;vertical-align:middle"><div style="font-size:18px;font-weight:bold">${escapeHtml(t.label)}</div><div style="color:#777;font-size:12px;margin-top:4px">Ticket ${escapeHtml(t.ticketId)}</div></td></tr></table>`,
          )
          .join('\n') +
        (extras?.receipt
          ? receiptHtml(extras.receipt)
          : `<p style="margin:16px 0 0"><strong>Total: ${escapeHtml(totalsText(d.totals))}</strong></p>`) +
        `<p style="margin:24px 0 0"><a href="${escapeHtml(d.appUrl)}/tickets" style="background:#3f2b96;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">Open my tickets</a></p>`;
      text = [
        `Hello ${d.name || 'there'},`,
        '',
        'Your order is confirmed. Show one QR code per person at the door.',
        '',
        title,
        ev.text,
        'Tickets:',
        ...tickets.map((t) => `  ${t.label}  (ticket ${t.ticketId}, code ${t.code})`),
        '',
        extras?.receipt ? receiptText(extras.receipt) : `Total: ${totalsText(d.totals)}`,
        '',
        `Your tickets: ${d.appUrl}/tickets`,
      ].join('\n');
      break;
    }
    case 'payment-failed': {
      const amount = money(d.amount ?? 0, d.currency ?? 'EUR');
      const why = d.reason ? ` (${d.reason})` : '';
      html =
        hello +
        `<p>Your payment of <strong>${escapeHtml(amount)}</strong> for <strong>${escapeHtml(title)}</strong> did not go through${escapeHtml(why)}.</p>` +
        ev.html +
        `<p>Nothing was charged. Your seats stay held until the hold expires: you can try again with another card.</p>` +
        `<p style="margin:24px 0 0"><a href="${escapeHtml(d.appUrl)}/orders/${escapeHtml(d.orderId ?? '')}" style="background:#3f2b96;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">Try again</a></p>`;
      text = `Hello ${d.name || 'there'},\n\nYour payment of ${amount} for ${title} did not go through${why}.\n${ev.text}\nNothing was charged. Your seats stay held until the hold expires: you can try again with another card.\n\n${d.appUrl}/orders/${d.orderId ?? ''}\n`;
      break;
    }
    case 'order-refunded': {
      const amount = money(d.amount ?? 0, d.currency ?? 'EUR');
      const why = REFUND_REASONS[d.reason ?? ''] ?? 'your order was refunded';
      html =
        hello +
        `<p>We refunded <strong>${escapeHtml(amount)}</strong> for <strong>${escapeHtml(title)}</strong>: ${escapeHtml(why)}.</p>` +
        ev.html +
        `<p>The money goes back to the card you paid with; your bank may take a few days to show it.</p>`;
      text = `Hello ${d.name || 'there'},\n\nWe refunded ${amount} for ${title}: ${why}.\n${ev.text}\nThe money goes back to the card you paid with; your bank may take a few days to show it.\n`;
      break;
    }
    case 'event-cancelled': {
      html =
        hello +
        `<p><strong>${escapeHtml(title)}</strong> has been cancelled by its organizer.</p>` +
        ev.html +
        `<p>Your tickets are no longer valid. Your order is refunded in full: you will receive a refund confirmation.</p>`;
      text = `Hello ${d.name || 'there'},\n\n${title} has been cancelled by its organizer.\n${ev.text}\nYour tickets are no longer valid. Your order is refunded in full: you will receive a refund confirmation.\n`;
      break;
    }
  }
  return { subject, html: layout(subject, html, d), text };
}
