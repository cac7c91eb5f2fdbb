// Recording an availability change. Every change bumps events.seq and writes one log row in the transaction
// that made the change, so the sequence is gap-free and a client that missed messages can replay them;
// publishing to pub/sub happens only after commit (what is published has happened).
import { HttpProblem, type Sequelize, type Transaction } from '@eventtickets/platform';
import { insertChange } from '../db/changes.ts';
import { bumpSeq } from '../db/events.ts';
import type { AvailabilityChange, SeatStatus } from '../domain/types.ts';

export type ChangePublisher = (change: AvailabilityChange) => void;

export interface ChangeInput {
  seats?: Record<string, SeatStatus>;
  ga?: { areaId: string; remaining: number }[];
  status?: 'published' | 'cancelled';
  /** Only bump if the event is still published (hold creation must lose against a concurrent cancel). */
  requirePublished?: boolean;
}

export async function recordChange(
  db: Sequelize,
  t: Transaction,
  eventId: string,
  input: ChangeInput,
  onCommitted: ChangePublisher,
): Promise<AvailabilityChange> {
  // Last step of every writing transaction: the events row lock is held only briefly, and nothing waits
  // on another lock after taking it, so it cannot close a deadlock cycle.
  const seq = await bumpSeq(db, t, eventId, input.requirePublished ?? false);
  if (seq === undefined) throw new HttpProblem(409, 'event-cancelled', 'Conflict', 'The event was cancelled');
  const change: AvailabilityChange = {
    eventId,
    seq,
    ...(input.status ? { status: input.status } : {}),
    seats: input.seats ?? {},
    ga: [...(input.ga ?? [])].sort((a, b) => a.areaId.localeCompare(b.areaId)),
  };
  await insertChange(db, t, change);
  t.afterCommit(() => onCommitted(change));
  return change;
}
