// Payment methods: the PSP's client-side tokenisation step. The card is checked (domain/card.ts) and handed to
// the provider; only brand, last four, expiry and the provider's token are stored. Nothing here logs the card.
import { randomUUID } from 'node:crypto';
import { problems, type Sequelize } from '@eventtickets/platform';
import { cardErrors, type CardInput } from '../domain/card.ts';
import type { PaymentMethod } from '../domain/types.ts';
import { insertMethod, listMethods, loadMethod } from '../db/methods.ts';
import type { PaymentsMetrics } from '../metrics.ts';
import type { PaymentProvider } from './provider.ts';

export interface PaymentMethodView {
  id: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

const view = (m: PaymentMethod): PaymentMethodView => ({
  id: m.id,
  brand: m.brand,
  last4: m.last4,
  expMonth: m.expMonth,
  expYear: m.expYear,
});

export function createMethodService(deps: {
  db: Sequelize;
  provider: PaymentProvider;
  metrics: PaymentsMetrics;
  now?: () => Date;
}) {
  const { db, provider, metrics } = deps;
  const now = deps.now ?? (() => new Date());

  async function tokenise(userId: string, card: CardInput): Promise<PaymentMethodView> {
    const errors = cardErrors(card, now());
    if (errors.length) {
      metrics.cardsRefused.inc();
      throw problems.unprocessable('The card was refused by its checks', 'card-invalid', { errors });
    }
    const { summary, providerToken } = provider.tokenise(card);
    const method = await insertMethod(db, {
      id: randomUUID(),
      userId,
      provider: provider.name,
      ...summary,
      providerToken,
    });
    metrics.methodsCreated.inc();
    return view(method);
  }

  async function list(userId: string): Promise<PaymentMethodView[]> {
    return (await listMethods(db, userId)).map(view);
  }

  /** The method if it belongs to userId; another user's method is absent. */
  async function ownedBy(userId: string, methodId: string): Promise<PaymentMethod> {
    const m = await loadMethod(db, methodId);
    if (!m || m.userId !== userId)
      throw problems.notFound(`No payment method ${methodId} for this user`, 'payment-method-not-found');
    return m;
  }

  return { tokenise, list, ownedBy };
}

export type MethodService = ReturnType<typeof createMethodService>;
