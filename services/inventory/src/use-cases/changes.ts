// Recording an availability change. Every change writes one log row in the transaction that made the change,
// after its row writes, without a sequence number: nothing in a writing transaction takes a per-event lock.
// After commit the sequencer (the availability hub) numbers committed changes per event, gap-free, and
// publishes them; `onCommitted` asks for that and resolves once it happened (what is published has happened).
import type { Sequelize, Transaction } from '@eventtickets/platform';
import { insertChange } from '../db/changes.ts';
import type { PendingChange, SeatStatus } from '../domain/types.ts';

/** Called after commit (awaited by the commit): numbers and publishes committed changes; never rejects. */
export type ChangePublisher = (change: PendingChange) => void | Promise<void>;

export interface ChangeInput {
  seats?: Record<string, SeatStatus>;
  ga?: { areaId: string; remaining: number }[];
  status?: 'published' | 'cancelled';
}

export function pendingChange(eventId: string, input: ChangeInput): PendingChange {
  return {
    eventId,
    ...(input.status ? { status: input.status } : {}),
    seats: input.seats ?? {},
    ga: [...(input.ga ?? [])].sort((a, b) => a.areaId.localeCompare(b.areaId)),
  };
}

/** Last write of a writing transaction (its id then orders it after every row write it depends on). */
export async function recordChange(
  db: Sequelize,
  t: Transaction,
  eventId: string,
  input: ChangeInput,
  onCommitted: ChangePublisher,
): Promise<PendingChange> {
  const change = pendingChange(eventId, input);
  await insertChange(db, t, change);
  afterCommit(t, change, onCommitted);
  return change;
}

/** Sequelize awaits afterCommit hooks inside commit(): one that threw would fail a committed transaction. */
export function afterCommit(t: Transaction, change: PendingChange, onCommitted: ChangePublisher): void {
  t.afterCommit(async () => {
    try {
      await onCommitted(change);
    } catch {
      /* the sequencer's sweep numbers it later */
    }
  });
}
