// Live availability of one event: the snapshot, then the SSE stream (inventory's contract,
// GET /api/events/{id}/availability/stream). Changes arrive in batches (`event: changes`, a JSON array with
// consecutive ascending seq); each is applied in sequence order: one at or below the last applied seq is
// ignored, the next one is applied, and a gap means the snapshot is read again (as is a new `snapshot`
// message). Changes carry absolute states, so applying them over a newer snapshot converges.
import { onBeforeUnmount, reactive, ref } from 'vue';
import { api, unwrap } from 'src/api/client';
import type { Availability, AvailabilityChange, SeatStatus } from 'src/api/types';
import { planBatch } from 'src/utils/availability-rules';

export interface LiveAvailability {
  seats: Record<string, SeatStatus>;
  ga: Record<string, number>;
  status: 'published' | 'cancelled' | undefined;
  seq: number;
}

export function useAvailability(eventId: string) {
  const state = reactive<LiveAvailability>({ seats: {}, ga: {}, status: undefined, seq: 0 });
  const connected = ref(false);
  const loaded = ref(false);
  const error = ref('');
  let source: EventSource | undefined;
  let resyncing: Promise<void> | undefined;
  let stopped = false;

  function replace(snapshot: Availability) {
    state.seats = { ...snapshot.seats };
    state.ga = Object.fromEntries(snapshot.ga.map((g) => [g.areaId, g.remaining]));
    state.status = snapshot.status;
    state.seq = snapshot.seq;
    loaded.value = true;
  }

  function apply(change: AvailabilityChange) {
    for (const [seat, status] of Object.entries(change.seats)) state.seats[seat] = status;
    for (const g of change.ga) state.ga[g.areaId] = g.remaining;
    if (change.status) state.status = change.status;
    state.seq = change.seq;
  }

  async function resync() {
    resyncing ??= unwrap(api.GET('/api/events/{id}/availability', { params: { path: { id: eventId } } }))
      .then((snapshot) => {
        if (snapshot.seq >= state.seq || !loaded.value) replace(snapshot);
        error.value = '';
      })
      .catch((e) => {
        if (!loaded.value) error.value = e instanceof Error ? e.message : String(e);
      })
      .finally(() => {
        resyncing = undefined;
      });
    return resyncing;
  }

  function onChanges(batch: AvailabilityChange[]) {
    const plan = planBatch(state.seq, batch);
    for (const change of plan.apply) apply(change);
    if (plan.resync) void resync();
  }

  function open() {
    if (stopped || typeof EventSource === 'undefined') return;
    source = new EventSource(`/api/events/${encodeURIComponent(eventId)}/availability/stream`);
    source.addEventListener('open', () => (connected.value = true));
    source.addEventListener('error', () => (connected.value = false)); // EventSource reconnects by itself
    source.addEventListener('snapshot', (m) => {
      connected.value = true;
      replace(JSON.parse((m as MessageEvent<string>).data) as Availability);
    });
    source.addEventListener('changes', (m) => {
      connected.value = true;
      const data = JSON.parse((m as MessageEvent<string>).data) as AvailabilityChange[] | AvailabilityChange;
      onChanges(Array.isArray(data) ? data : [data]);
    });
  }

  function stop() {
    stopped = true;
    source?.close();
    source = undefined;
  }

  /** Marks seats as taken at once (after our own hold), before the stream says so. */
  function markHeld(seatIds: string[]) {
    for (const id of seatIds) state.seats[id] = 'held';
  }

  onBeforeUnmount(stop);
  void resync().then(open);
  return { state, connected, loaded, error, resync, stop, markHeld };
}
