// The payments domain's types: payment methods, intents (one per pay attempt), refunds, receipts, and the
// provider's results (the provider port itself is in use-cases/provider.ts).
import type { CardBrand } from './card.ts';

export type IntentStatus = 'requires_confirmation' | 'processing' | 'succeeded' | 'failed';

export interface PaymentMethod {
  id: string;
  userId: string;
  provider: string;
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
  /** What the provider needs to charge it (the simulator: the outcome class). Never a card number. */
  providerToken: string;
  createdAt: Date;
}

export interface Line {
  description: string;
  quantity: number;
  unitAmount: number;
  amount: number;
}
export interface FeeLine {
  description: string;
  amount: number;
}
export interface TaxLine {
  description: string;
  rate: number;
  amount: number;
}
export interface Seller {
  name: string;
  address?: string;
}

export interface IntentRequest {
  orderId: string;
  userId: string;
  amount: number;
  currency: string;
  description?: string;
  seller?: Seller;
  lines: Line[];
  fees?: FeeLine[];
  taxes?: TaxLine[];
}

export interface Intent {
  id: string;
  orderId: string;
  userId: string;
  amount: number;
  currency: string;
  description: string | null;
  seller: Seller;
  lines: Line[];
  fees: FeeLine[];
  taxes: TaxLine[];
  status: IntentStatus;
  provider: string;
  paymentMethodId: string | null;
  cardBrand: string | null;
  cardLast4: string | null;
  providerRef: string | null;
  failureReason: string | null;
  refundedAmount: number;
  receiptNumber: string | null;
  createdAt: Date;
  updatedAt: Date;
  succeededAt: Date | null;
}

/** An intent as the API shows it. */
export interface IntentView {
  id: string;
  orderId: string;
  userId: string;
  amount: number;
  currency: string;
  status: IntentStatus;
  paymentMethodId: string | null;
  card: { brand: string; last4: string } | null;
  failureReason: string | null;
  refundedAmount: number;
  receiptNumber: string | null;
  createdAt: string;
  updatedAt: string;
}

export function intentView(i: Intent): IntentView {
  return {
    id: i.id,
    orderId: i.orderId,
    userId: i.userId,
    amount: i.amount,
    currency: i.currency,
    status: i.status,
    paymentMethodId: i.paymentMethodId,
    card: i.cardBrand && i.cardLast4 ? { brand: i.cardBrand, last4: i.cardLast4 } : null,
    failureReason: i.failureReason,
    refundedAmount: i.refundedAmount,
    receiptNumber: i.receiptNumber,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  };
}

export interface Refund {
  id: string;
  intentId: string;
  amount: number;
  reason: string | null;
  providerRef: string;
  createdAt: Date;
}

export interface RefundView {
  id: string;
  paymentId: string;
  orderId: string;
  amount: number;
  currency: string;
  status: 'succeeded';
  reason: string | null;
  createdAt: string;
}

/** What a provider says about a charge. */
export type ChargeResult =
  | { status: 'succeeded'; providerRef: string }
  | { status: 'failed'; providerRef: string; reason: string }
  | { status: 'pending'; providerRef: string };

/** A provider's webhook event, verified and normalised. */
export interface ProviderEvent {
  id: string;
  kind: 'payment.succeeded' | 'payment.failed' | 'other';
  /** The provider's own type name (logged, recorded). */
  type: string;
  intentId?: string;
  providerRef?: string;
  reason?: string;
}
