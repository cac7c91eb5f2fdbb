// A hold as its owner and orders see it. An active hold past its expiry reads as expired (observedState,
// against the database clock of this read) even before the sweeper has written that down.
import type { Sequelize, Transaction } from '@eventtickets/platform';
import { loadHoldDetails } from '../db/holds.ts';
import { totals } from '../domain/hold-rules.ts';
import { observedState } from '../domain/hold-state.ts';
import type { HoldView } from '../domain/types.ts';

export async function loadHoldView(db: Sequelize, holdId: string, t?: Transaction): Promise<HoldView | undefined> {
  const found = await loadHoldDetails(db, holdId, t);
  if (!found) return undefined;
  const { hold, seats, ga } = found;
  const state = observedState(hold, found.dbNow);
  return {
    id: hold.id,
    eventId: hold.eventId,
    userId: hold.userId,
    status: state.status,
    createdAt: hold.createdAt.toISOString(),
    expiresAt: hold.expiresAt.toISOString(),
    endedAt: state.endedAt?.toISOString() ?? null,
    endReason: state.endReason,
    confirmedAt: hold.confirmedAt?.toISOString() ?? null,
    orderId: hold.orderId,
    seats,
    ga,
    totals: totals({ seats, ga }),
  };
}
