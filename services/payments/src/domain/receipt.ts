// Receipts (pure): the data of a succeeded payment's receipt, and its printable HTML page.
import type { FeeLine, Intent, Line, Refund, Seller, TaxLine } from './types.ts';

export interface Receipt {
  number: string;
  issuedAt: string;
  seller: Seller;
  description: string | null;
  orderId: string;
  paymentId: string;
  currency: string;
  lines: Line[];
  fees: FeeLine[];
  taxes: TaxLine[];
  total: number;
  card: { brand: string; last4: string };
  refunds: Array<{ id: string; amount: number; createdAt: string }>;
  refundedAmount: number;
}

/** The receipt of a succeeded intent (its receipt number, card and settlement time are set then). */
export function buildReceipt(intent: Intent, refunds: Refund[]): Receipt {
  return {
    number: intent.receiptNumber!,
    issuedAt: intent.succeededAt!.toISOString(),
    seller: intent.seller,
    description: intent.description,
    orderId: intent.orderId,
    paymentId: intent.id,
    currency: intent.currency,
    lines: intent.lines,
    fees: intent.fees,
    taxes: intent.taxes,
    total: intent.amount,
    card: { brand: intent.cardBrand ?? 'unknown', last4: intent.cardLast4 ?? '????' },
    refunds: refunds.map((r) => ({ id: r.id, amount: r.amount, createdAt: r.createdAt.toISOString() })),
    refundedAmount: intent.refundedAmount,
  };
}

/** Minor units as money in the currency's own exponent (JPY 0, EUR 2, KWD 3). */
export function formatMoney(minor: number, currency: string): string {
  const fmt = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
  const digits = fmt.resolvedOptions().maximumFractionDigits ?? 2;
  return fmt.format(minor / 10 ** digits);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const BRAND_NAMES: Record<string, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
};

function formatDate(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', {
    dateStyle: 'long',
    timeStyle: 'short',
    timeZone: 'UTC',
  });
}

/** A self-contained printable page (no external assets, print styles included). */
export function renderReceiptHtml(r: Receipt): string {
  const money = (n: number) => escapeHtml(formatMoney(n, r.currency));
  const e = escapeHtml;
  const lineRows = r.lines
    .map(
      (l) =>
        `<tr><td>${e(l.description)}</td><td class="num">${l.quantity}</td><td class="num">${money(l.unitAmount)}</td><td class="num">${money(l.amount)}</td></tr>`,
    )
    .join('\n');
  const feeRows = r.fees
    .map((f) => `<tr><td colspan="3">${e(f.description)}</td><td class="num">${money(f.amount)}</td></tr>`)
    .join('\n');
  const taxRows = r.taxes
    .map(
      (t) =>
        `<tr class="muted"><td colspan="3">Of which ${e(t.description)} (${t.rate}% included)</td><td class="num">${money(t.amount)}</td></tr>`,
    )
    .join('\n');
  const refundRows = r.refunds
    .map(
      (x) =>
        `<tr class="refund"><td colspan="3">Refund on ${e(formatDate(x.createdAt))}</td><td class="num">−${money(x.amount)}</td></tr>`,
    )
    .join('\n');
  const brand = BRAND_NAMES[r.card.brand] ?? r.card.brand;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Receipt ${e(r.number)}</title>
<style>
  :root { color-scheme: light; }
  * { box-sizing: border-box; }
  body { margin: 0; background: #f3f4f6; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; }
  main { max-width: 640px; margin: 32px auto; background: #fff; padding: 40px 44px; border-radius: 10px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  header { display: flex; justify-content: space-between; align-items: flex-start; border-bottom: 2px solid #111827; padding-bottom: 16px; margin-bottom: 24px; }
  h1 { font-size: 26px; margin: 0; letter-spacing: .5px; }
  .seller { text-align: right; }
  .seller strong { display: block; font-size: 17px; }
  .muted, .seller span { color: #6b7280; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 20px; margin: 0 0 24px; }
  dt { color: #6b7280; }
  dd { margin: 0; font-variant-numeric: tabular-nums; }
  table { width: 100%; border-collapse: collapse; }
  th { text-align: left; font-weight: 600; color: #374151; border-bottom: 1px solid #d1d5db; padding: 8px 0; }
  td { padding: 7px 0; border-bottom: 1px solid #f0f0f0; vertical-align: top; }
  th.num, td.num { text-align: right; white-space: nowrap; padding-left: 16px; font-variant-numeric: tabular-nums; }
  tr.total td { border-top: 2px solid #111827; border-bottom: none; font-weight: 700; font-size: 17px; padding-top: 12px; }
  tr.refund td { color: #b91c1c; }
  .paid { margin-top: 24px; padding: 12px 16px; background: #f0fdf4; border: 1px solid #bbf7d0; border-radius: 8px; }
  footer { margin-top: 28px; font-size: 13px; color: #6b7280; }
  @media print { body { background: #fff; } main { margin: 0; box-shadow: none; padding: 0; } }
</style>
</head>
<body>
<main>
  <header>
    <div><h1>Receipt</h1><div class="muted">${e(r.number)}</div></div>
    <div class="seller"><strong>${e(r.seller.name)}</strong>${r.seller.address ? `<span>${e(r.seller.address)}</span>` : ''}</div>
  </header>
  <dl>
    <dt>Date</dt><dd>${e(formatDate(r.issuedAt))} UTC</dd>
    <dt>Order</dt><dd>${e(r.orderId)}</dd>
    ${r.description ? `<dt>For</dt><dd>${e(r.description)}</dd>` : ''}
  </dl>
  <table>
    <thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>
    <tbody>
${lineRows}
${feeRows}
      <tr class="total"><td colspan="3">Total</td><td class="num">${money(r.total)}</td></tr>
${taxRows}
${refundRows}
    </tbody>
  </table>
  <div class="paid">Paid with ${e(brand)} ending in ${e(r.card.last4)}${r.refundedAmount ? ` · ${money(r.refundedAmount)} refunded` : ''}</div>
  <footer>Payment ${e(r.paymentId)}. Prices include tax where shown.</footer>
</main>
</body>
</html>
`;
}
