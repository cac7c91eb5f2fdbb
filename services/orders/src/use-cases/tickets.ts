// Tickets for their owner (with the signed code and its QR image) and check-in at the door.
import QRCode from 'qrcode';
import {
  enqueueEvent,
  HttpProblem,
  problems,
  withRetryingTransaction,
  type Identity,
  type Sequelize,
} from '@eventtickets/platform';
import { findEvent } from '../db/events.ts';
import { checkInTicket, findTicket, listTickets, ticketsOfOrder, type TicketRow } from '../db/tickets.ts';
import { signTicketCode, verifyTicketCode } from '../domain/ticket-code.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export interface TicketService {
  list(userId: string): Promise<unknown[]>;
  getOwned(userId: string, ticketId: string): Promise<ReturnType<TicketService['view']>>;
  qrSvg(userId: string, ticketId: string): Promise<string>;
  /** An order's tickets with their codes, for notifications' e-mail (internal); 404 when it has none. */
  ofOrder(orderId: string): Promise<{ orderId: string; userId: string; items: unknown[] }>;
  checkIn(staff: Identity, code: string, eventId?: string): Promise<unknown>;
  view(row: TicketRow): Record<string, unknown> & { code: string };
}

export function createTicketService(deps: { db: Sequelize; secret: string }): TicketService {
  const { db, secret } = deps;

  function view(row: TicketRow) {
    return {
      id: row.ticket_id,
      orderId: row.order_id,
      eventId: row.event_id,
      seatId: row.seat_id,
      areaId: row.area_id,
      label: row.label,
      tierId: row.tier_id,
      status: row.status,
      code: signTicketCode(secret, row.ticket_id, row.event_id),
      checkedInAt: iso(row.checked_in_at),
      createdAt: iso(row.created_at)!,
    };
  }

  async function owned(userId: string, ticketId: string): Promise<TicketRow> {
    const row = UUID.test(ticketId) ? await findTicket(db, ticketId) : undefined;
    if (!row || row.user_id !== userId) throw problems.notFound(`No ticket ${ticketId}`, 'ticket-not-found');
    return row;
  }

  return {
    view,
    async list(userId) {
      return (await listTickets(db, userId)).map(view);
    },
    async getOwned(userId, ticketId) {
      return view(await owned(userId, ticketId));
    },
    async ofOrder(orderId) {
      const list = UUID.test(orderId) ? await ticketsOfOrder(db, orderId) : [];
      if (!list.length) throw problems.notFound(`No tickets for order ${orderId}`, 'order-not-found');
      return { orderId, userId: list[0]!.user_id, items: list.map(view) };
    },
    async qrSvg(userId, ticketId) {
      const row = await owned(userId, ticketId);
      return QRCode.toString(signTicketCode(secret, row.ticket_id, row.event_id), {
        type: 'svg',
        errorCorrectionLevel: 'M',
        margin: 2,
      });
    },
    async checkIn(staff, code, scannedEventId) {
      const ids = verifyTicketCode(secret, code);
      if (!ids) throw problems.unprocessable('This is not a valid ticket code', 'ticket-code-invalid');
      const event = await findEvent(db, ids.eventId);
      if (staff.role !== 'admin' && event?.organizer_id !== staff.userId)
        throw problems.forbidden('Only the event organizer or an admin may check tickets in');
      if (scannedEventId && scannedEventId !== ids.eventId)
        throw problems.conflict('This ticket is for another event', 'ticket-wrong-event', { eventId: ids.eventId });
      return withRetryingTransaction(db, async (t) => {
        const admitted = await checkInTicket(db, t, ids.ticketId, staff.userId);
        if (!admitted) {
          const row = await findTicket(db, ids.ticketId, t);
          if (!row || row.event_id !== ids.eventId) throw problems.notFound('No such ticket', 'ticket-not-found');
          if (row.status === 'void') throw problems.conflict('This ticket was voided', 'ticket-void');
          throw new HttpProblem(
            409,
            'ticket-already-checked-in',
            'Already checked in',
            'This ticket was already used',
            {
              checkedInAt: iso(row.checked_in_at),
            },
          );
        }
        const at = iso(admitted.checked_in_at)!;
        await enqueueEvent(db, t, {
          type: 'ticket.checked_in',
          aggregateId: admitted.ticket_id,
          payload: { ticketId: admitted.ticket_id, eventId: admitted.event_id, at },
        });
        return { ticketId: admitted.ticket_id, eventId: admitted.event_id, label: admitted.label, checkedInAt: at };
      });
    },
  };
}
