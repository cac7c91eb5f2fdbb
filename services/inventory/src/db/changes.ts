// The per-event sequence and change log. Every availability change bumps events.seq and writes one log row
// in the transaction that made the change, so the sequence is gap-free and a client that missed messages can
// replay them; publishing to pub/sub happens only after commit (what is published has happened).
import type { Sequelize, Transaction } from '@eventtickets/platform';
import { HttpProblem } from '@eventtickets/platform';
import { one, rows } from './sql.ts';
import type { AvailabilityChange, SeatStatus } from '../domain/types.ts';

export interface ChangeInput {
  seats?: Record<string, SeatStatus>;
  ga?: { areaId: string; remaining: number }[];
  status?: 'published' | 'cancelled';
  /** Only bump if the event is still published (hold creation must lose against a concurrent cancel). */
  requirePublished?: boolean;
}

export async function recordChange(db: Sequelize, t: Transaction, eventId: string, input: ChangeInput, onCommitted: (c: AvailabilityChange) => void): Promise<AvailabilityChange> {
  // Last step of every writing transaction: the events row lock is held only briefly, and nothing waits
  // on another lock after taking it, so it cannot close a deadlock cycle.
  const bumped = await one<{ seq: string }>(
    db,
    `UPDATE events SET seq = seq + 1 WHERE event_id = $1 ${input.requirePublished ? "AND status = 'published'" : ''} RETURNING seq`,
    [eventId],
    t,
  );
  if (!bumped) throw new HttpProblem(409, 'event-cancelled', 'Conflict', 'The event was cancelled');
  const change: AvailabilityChange = {
    eventId,
    seq: Number(bumped.seq),
    ...(input.status ? { status: input.status } : {}),
    seats: input.seats ?? {},
    ga: [...(input.ga ?? [])].sort((a, b) => a.areaId.localeCompare(b.areaId)),
  };
  await db.query('INSERT INTO availability_changes (event_id, seq, change) VALUES ($1, $2, $3)', { bind: [eventId, change.seq, JSON.stringify(change)], transaction: t });
  t.afterCommit(() => onCommitted(change));
  return change;
}

/** Changes after `afterSeq` up to `uptoSeq` inclusive, or undefined if the log no longer covers that range. */
export async function changesSince(db: Sequelize, eventId: string, afterSeq: number, uptoSeq: number): Promise<AvailabilityChange[] | undefined> {
  if (uptoSeq <= afterSeq) return [];
  const found = await rows<{ change: AvailabilityChange }>(
    db,
    'SELECT change FROM availability_changes WHERE event_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq',
    [eventId, afterSeq, uptoSeq],
  );
  if (found.length !== uptoSeq - afterSeq) return undefined; // pruned (too old): caller sends a snapshot
  return found.map((r) => r.change);
}

export async function currentSeqs(db: Sequelize, eventIds: string[]): Promise<Map<string, number>> {
  const found = await rows<{ event_id: string; seq: string }>(db, 'SELECT event_id, seq FROM events WHERE event_id = ANY($1)', [eventIds]);
  return new Map(found.map((r) => [r.event_id, Number(r.seq)]));
}

/** Drops log entries older than the retention (the latest entry of each event is always kept). */
export async function pruneChanges(db: Sequelize, retentionMs: number): Promise<void> {
  await db.query(
    `DELETE FROM availability_changes c
      WHERE c.created_at < now() - ($1::bigint * interval '1 millisecond')
        AND c.seq < (SELECT e.seq FROM events e WHERE e.event_id = c.event_id)`,
    { bind: [retentionMs] },
  );
}
