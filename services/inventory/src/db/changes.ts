// SQL on the per-event change log. A writing transaction inserts its change without a sequence number (its
// id, taken after its row writes, orders it); the sequencer numbers committed changes after commit, per event,
// gap-free, and stores the number in the row and in the change document. A client that missed messages
// replays the numbered log in order.
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { AvailabilityChange, PendingChange } from '../domain/types.ts';
import { directRows } from './direct.ts';

/** Serialises the numbering batches of all replicas (any constant unique to this purpose). */
const SEQUENCER_LOCK = 14_000_014;

export async function insertChange(db: Sequelize, t: Transaction, change: PendingChange): Promise<void> {
  await execute(
    db,
    'INSERT INTO availability_changes (event_id, change) VALUES ($1, $2)',
    [change.eventId, JSON.stringify(change)],
    t,
  );
}

/** Numbers up to `limit` committed, unnumbered changes (oldest id first): each event's next numbers in id
 *  order, events.seq moved to the last one. ONE round trip (inventory_number_changes, migration 0006: the
 *  sequencer's advisory lock, then the numbering, in its own transaction), whatever the batch holds.
 *  Returns the numbered changes in sequence order per event. */
export async function numberPendingChanges(db: Sequelize, limit: number): Promise<AvailabilityChange[]> {
  const numbered = await directRows<{ change: AvailabilityChange }>(
    db,
    { name: 'inventory_number_changes', text: 'SELECT inventory_number_changes($1, $2) AS change' },
    [SEQUENCER_LOCK, limit],
  );
  return numbered.map((r) => r.change).sort((x, y) => x.eventId.localeCompare(y.eventId) || x.seq - y.seq);
}

/** Whether a change has waited unnumbered longer than `olderThanMs` (its replica died before numbering it). */
export async function hasStalePendingChanges(db: Sequelize, olderThanMs: number): Promise<boolean> {
  const row = await one<{ stale: boolean }>(
    db,
    `SELECT EXISTS (SELECT 1 FROM availability_changes
                     WHERE seq IS NULL AND created_at < now() - ($1::bigint * interval '1 millisecond')) AS stale`,
    [olderThanMs],
  );
  return row?.stale ?? false;
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

/** Drops numbered log entries older than the retention (the latest entry of each event is always kept). */
export async function pruneChanges(db: Sequelize, retentionMs: number): Promise<void> {
  await execute(
    db,
    `DELETE FROM availability_changes c
      WHERE c.created_at < now() - ($1::bigint * interval '1 millisecond')
        AND c.seq < (SELECT e.seq FROM events e WHERE e.event_id = c.event_id)`,
    [retentionMs],
  );
}
