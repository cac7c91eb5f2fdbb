// SQL on the per-event change log. Every availability change writes one row (with the events.seq it bumped) in
// the transaction that made the change, so a client that missed messages can replay them in order.
import { execute, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { AvailabilityChange } from '../domain/types.ts';

export async function insertChange(db: Sequelize, t: Transaction, change: AvailabilityChange): Promise<void> {
  await execute(
    db,
    'INSERT INTO availability_changes (event_id, seq, change) VALUES ($1, $2, $3)',
    [change.eventId, change.seq, JSON.stringify(change)],
    t,
  );
}

/** Changes after `afterSeq` up to `uptoSeq` inclusive, or undefined if the log no longer covers that range. */
export async function changesSince(
  db: Sequelize,
  eventId: string,
  afterSeq: number,
  uptoSeq: number,
): Promise<AvailabilityChange[] | undefined> {
  if (uptoSeq <= afterSeq) return [];
  const found = await rows<{ change: AvailabilityChange }>(
    db,
    'SELECT change FROM availability_changes WHERE event_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq',
    [eventId, afterSeq, uptoSeq],
  );
  if (found.length !== uptoSeq - afterSeq) return undefined; // pruned (too old): caller sends a snapshot
  return found.map((r) => r.change);
}

/** Drops log entries older than the retention (the latest entry of each event is always kept). */
export async function pruneChanges(db: Sequelize, retentionMs: number): Promise<void> {
  await execute(
    db,
    `DELETE FROM availability_changes c
      WHERE c.created_at < now() - ($1::bigint * interval '1 millisecond')
        AND c.seq < (SELECT e.seq FROM events e WHERE e.event_id = c.event_id)`,
    [retentionMs],
  );
}
