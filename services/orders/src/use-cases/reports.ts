// The buyer's receipt (payments renders it: JSON, or HTML for Accept: text/html) and an event's sales for its
// organizer or an admin.
import { problems, UpstreamError, type Identity, type Sequelize } from '@eventtickets/platform';
import { findEvent } from '../db/events.ts';
import { findOrder, salesOfEvent } from '../db/orders.ts';
import { ticketSalesOfEvent } from '../db/tickets.ts';
import { upstreamProblem, type Upstreams } from './upstreams.ts';

export interface Sales {
  eventId: string;
  currency: string | null;
  tiers: Array<{ tierId: string; sold: number; revenue: number; checkIns: number }>;
  revenue: number;
  refunds: number;
  ordersConfirmed: number;
  ticketsSold: number;
  checkIns: number;
}

export interface ReportService {
  receipt(userId: string, orderId: string, html: boolean): Promise<{ html: boolean; body: unknown }>;
  sales(caller: Identity, eventId: string): Promise<Sales>;
}

export function createReportService(deps: { db: Sequelize; upstreams: Upstreams }): ReportService {
  const { db, upstreams } = deps;
  return {
    async receipt(userId, orderId, html) {
      const row = await findOrder(db, orderId);
      if (!row || row.user_id !== userId) throw problems.notFound(`No order ${orderId}`, 'order-not-found');
      try {
        const res = await upstreams.payments.request<unknown>(
          'GET',
          `/internal/orders/${encodeURIComponent(orderId)}/receipt`,
          { headers: html ? { accept: 'text/html, application/problem+json' } : {} },
        );
        return { html, body: res.body };
      } catch (err) {
        if (err instanceof UpstreamError && err.problemType?.endsWith('/receipt-not-found'))
          throw problems.notFound('This order has no receipt (it was not paid)', 'receipt-not-found');
        throw upstreamProblem(err);
      }
    },
    async sales(caller, eventId) {
      const event = await findEvent(db, eventId);
      if (!event) throw problems.notFound(`No event ${eventId}`, 'event-not-found');
      if (caller.role !== 'admin' && event.organizer_id !== caller.userId)
        throw problems.forbidden('Only the event organizer or an admin may read its sales');
      const [money, tiers] = await Promise.all([salesOfEvent(db, eventId), ticketSalesOfEvent(db, eventId)]);
      return {
        eventId,
        currency: money.currency,
        tiers: tiers.map((r) => ({ tierId: r.tier_id, sold: r.sold, revenue: r.revenue, checkIns: r.check_ins })),
        revenue: money.revenue,
        refunds: money.refunds,
        ordersConfirmed: money.orders_confirmed,
        ticketsSold: tiers.reduce((n, r) => n + r.sold, 0),
        checkIns: tiers.reduce((n, r) => n + r.check_ins, 0),
      };
    },
  };
}
