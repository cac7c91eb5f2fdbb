// The client's gap rules for the availability stream (inventory's openapi.yaml, streamAvailability), pure so
// they are unit-tested: changes apply in sequence order; one at or below the last applied seq is ignored, the
// next one is applied, anything further means a change was missed and the snapshot must be read again.
export interface SeqChange {
  seq: number;
}

export interface BatchPlan<C extends SeqChange> {
  /** the changes to apply, in order */
  apply: C[];
  /** a gap was met: read the snapshot again (what came before the gap is still applied) */
  resync: boolean;
}

export function planBatch<C extends SeqChange>(lastSeq: number, batch: readonly C[]): BatchPlan<C> {
  const apply: C[] = [];
  let seq = lastSeq;
  for (const change of batch) {
    if (change.seq <= seq) continue;
    if (change.seq !== seq + 1) return { apply, resync: true };
    apply.push(change);
    seq = change.seq;
  }
  return { apply, resync: false };
}
