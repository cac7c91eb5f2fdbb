// A user's messages as GET /api/notifications shows them.
import type { Sequelize } from '@eventtickets/platform';
import { listForUser, type MessageRow } from '../db/messages.ts';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function toView(m: MessageRow) {
  return {
    id: m.message_id,
    kind: m.kind,
    channel: m.channel,
    to: m.address,
    subject: m.subject,
    status: m.status,
    attempts: m.attempts,
    lastError: m.last_error,
    createdAt: iso(m.created_at)!,
    sentAt: iso(m.sent_at),
  };
}

export interface History {
  list(userId: string, limit: number): Promise<Array<ReturnType<typeof toView>>>;
}

export function createHistory(db: Sequelize): History {
  return { list: async (userId, limit) => (await listForUser(db, userId, limit)).map(toView) };
}
