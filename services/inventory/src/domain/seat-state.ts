// One event's seat statuses as of a sequence number: a snapshot with every later numbered change applied in
// order. Changes carry absolute states, so applying them in seq order reproduces the database's state at that
// seq exactly; a change that arrives ahead of a missing one waits (a gap) and the state is not to be trusted
// until the missing ones are filled in.
import type { AvailabilityChange, AvailabilitySnapshot, EventStatus, SeatStatus } from './types.ts';

export class EventSeatState {
  seq: number;
  status: EventStatus;
  private readonly seats: Map<string, SeatStatus>;
  /** Numbered changes above seq + 1, waiting for the ones in between. */
  private readonly ahead = new Map<number, AvailabilityChange>();

  constructor(snapshot: Pick<AvailabilitySnapshot, 'seq' | 'status' | 'seats'>) {
    this.seq = snapshot.seq;
    this.status = snapshot.status;
    this.seats = new Map(Object.entries(snapshot.seats));
  }

  /** Applies the changes that follow seq without a gap (any order in, seq order applied); keeps later ones. */
  apply(changes: Iterable<AvailabilityChange>): void {
    for (const c of changes) if (c.seq > this.seq) this.ahead.set(c.seq, c);
    for (let next = this.ahead.get(this.seq + 1); next; next = this.ahead.get(this.seq + 1)) {
      this.ahead.delete(next.seq);
      if (next.status) this.status = next.status;
      for (const [seatId, status] of Object.entries(next.seats)) this.seats.set(seatId, status);
      this.seq = next.seq;
    }
  }

  /** The seq of the first change still missing before the waiting ones (undefined: nothing waits). */
  get gapBefore(): number | undefined {
    if (!this.ahead.size) return undefined;
    return Math.min(...this.ahead.keys());
  }

  /**
   * The requested seats that are not available, when this state can say so for the whole request: no change
   * waits for a gap, the event is not cancelled (that refusal comes first and is the database's), every seat is
   * one the event has (an unknown seat is a 422, which comes before a 409). Undefined otherwise; an empty array
   * when every requested seat is available.
   */
  takenAmong(seatIds: readonly string[]): string[] | undefined {
    if (this.ahead.size || this.status !== 'published') return undefined;
    const taken: string[] = [];
    for (const seatId of seatIds) {
      const status = this.seats.get(seatId);
      if (status === undefined) return undefined;
      if (status !== 'available') taken.push(seatId);
    }
    return taken;
  }
}
