// Receipts: the data of an order's succeeded payment and its printable page (orders serves them to buyers).
import { problems, type Sequelize } from '@eventtickets/platform';
import { buildReceipt, renderReceiptHtml, type Receipt } from '../domain/receipt.ts';
import { succeededIntentOfOrder } from '../db/intents.ts';
import { refundsOf } from '../db/refunds.ts';

export function createReceiptService(deps: { db: Sequelize }) {
  const { db } = deps;

  async function forOrder(orderId: string): Promise<Receipt> {
    const intent = await succeededIntentOfOrder(db, orderId);
    if (!intent) throw problems.notFound(`Order ${orderId} has no succeeded payment`, 'receipt-not-found');
    return buildReceipt(intent, await refundsOf(db, intent.id));
  }

  async function htmlForOrder(orderId: string): Promise<string> {
    return renderReceiptHtml(await forOrder(orderId));
  }

  return { forOrder, htmlForOrder };
}

export type ReceiptService = ReturnType<typeof createReceiptService>;
