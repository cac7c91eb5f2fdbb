// A hold's state as readers see it. Expiry is decided by expiresAt against the database clock; the sweeper only
// writes it down (and frees the seats) some time later. A read in between must not call a dead hold active.
import type { Hold, HoldStatus, EndReason } from './types.ts';

export interface HoldState {
  status: HoldStatus;
  endedAt: Date | null;
  endReason: EndReason | null;
}

/** The stored state, except that an active hold at or past its expiry reads as expired (ended at its expiry),
 *  exactly as the sweeper and confirm would record it. Pure: nothing is written. */
export function observedState(
  hold: Pick<Hold, 'status' | 'expiresAt' | 'endedAt' | 'endReason'>,
  now: Date,
): HoldState {
  if (hold.status === 'active' && hold.expiresAt <= now)
    return { status: 'expired', endedAt: hold.expiresAt, endReason: 'expired' };
  return { status: hold.status, endedAt: hold.endedAt, endReason: hold.endReason };
}
