// The delivery log. A message is claimed by one worker at a time (FOR UPDATE SKIP LOCKED plus a lease on
// next_attempt_at), so replicas never send the same message together.
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';

export type MessageStatus = 'pending' | 'sent' | 'failed' | 'dead';
export type Channel = 'email' | 'sms';
export type MessageKind = 'order-confirmed' | 'payment-failed' | 'order-refunded' | 'event-cancelled';

export interface MessageRow {
  message_id: string;
  source_event_id: string;
  kind: MessageKind;
  channel: Channel;
  user_id: string;
  address: string;
  subject: string;
  data: Record<string, unknown>;
  status: MessageStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  provider_id: string | null;
  created_at: Date;
  sent_at: Date | null;
}

export interface NewMessage {
  messageId: string;
  sourceEventId: string;
  kind: MessageKind;
  channel: Channel;
  userId: string;
  address: string;
  subject: string;
  data: Record<string, unknown>;
}

/** Records a message to send; false when one for (source event, channel, recipient) exists already. */
export async function insertMessage(db: Sequelize, t: Transaction, m: NewMessage): Promise<boolean> {
  return (
    (await execute(
      db,
      `INSERT INTO messages (message_id, source_event_id, kind, channel, user_id, address, subject, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT ON CONSTRAINT one_message_per_event_channel_recipient DO NOTHING`,
      [m.messageId, m.sourceEventId, m.kind, m.channel, m.userId, m.address, m.subject, JSON.stringify(m.data)],
      t,
    )) === 1
  );
}

/** Claims up to `limit` due messages for `leaseMs` (another worker skips them until then). */
export async function claimDue(db: Sequelize, limit: number, leaseMs: number): Promise<MessageRow[]> {
  return rows<MessageRow>(
    db,
    `UPDATE messages SET next_attempt_at = now() + $2 * interval '1 millisecond', updated_at = now()
     WHERE message_id IN (
       SELECT message_id FROM messages WHERE status IN ('pending', 'failed') AND next_attempt_at <= now()
       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [limit, leaseMs],
  );
}

export async function markSent(db: Sequelize, id: string, providerId: string | null): Promise<void> {
  await execute(
    db,
    `UPDATE messages SET status = 'sent', attempts = attempts + 1, sent_at = now(), provider_id = $2,
       last_error = NULL, updated_at = now()
     WHERE message_id = $1 AND status IN ('pending', 'failed')`,
    [id, providerId],
  );
}

/** One failed attempt: dead when it was the last allowed, else failed with the next attempt after `retryInMs`. */
export async function markFailed(
  db: Sequelize,
  id: string,
  error: string,
  retryInMs: number,
  maxAttempts: number,
): Promise<MessageStatus> {
  const row = await one<{ status: MessageStatus }>(
    db,
    `UPDATE messages SET attempts = attempts + 1, last_error = $2, updated_at = now(),
       status = CASE WHEN attempts + 1 >= $4 THEN 'dead' ELSE 'failed' END,
       next_attempt_at = now() + $3 * interval '1 millisecond'
     WHERE message_id = $1 AND status IN ('pending', 'failed')
     RETURNING status`,
    [id, error.slice(0, 1000), retryInMs, maxAttempts],
  );
  return row?.status ?? 'dead';
}

export async function listForUser(db: Sequelize, userId: string, limit: number): Promise<MessageRow[]> {
  return rows<MessageRow>(
    db,
    'SELECT * FROM messages WHERE user_id = $1 ORDER BY created_at DESC, message_id LIMIT $2',
    [userId, limit],
  );
}

export async function countByStatus(db: Sequelize): Promise<Array<{ status: MessageStatus; n: number }>> {
  return rows(db, 'SELECT status, count(*)::int AS n FROM messages GROUP BY status', []);
}

export interface DeferredRow {
  source_event_id: string;
  kind: MessageKind;
  user_id: string;
  facts: Record<string, unknown>;
}

/** Keeps a message whose recipient has no contact yet; nothing when it is kept already. */
export async function deferMessage(db: Sequelize, t: Transaction, d: DeferredRow): Promise<void> {
  await execute(
    db,
    `INSERT INTO deferred_messages (source_event_id, kind, user_id, facts) VALUES ($1, $2, $3, $4)
     ON CONFLICT DO NOTHING`,
    [d.source_event_id, d.kind, d.user_id, JSON.stringify(d.facts)],
    t,
  );
}

/** Takes (removes and returns) the messages kept for a user, oldest first. */
export async function takeDeferred(db: Sequelize, t: Transaction, userId: string): Promise<DeferredRow[]> {
  const list = await rows<DeferredRow & { created_at: Date }>(
    db,
    'DELETE FROM deferred_messages WHERE user_id = $1 RETURNING *',
    [userId],
    t,
  );
  return list.sort((a, b) => +new Date(a.created_at) - +new Date(b.created_at));
}
