// An event's status: what is stored (draft, published, cancelled) and what the API reports. "ended" is derived,
// never stored: a published event whose end has passed is reported as ended.
export type StoredStatus = 'draft' | 'published' | 'cancelled';
export type PublicStatus = StoredStatus | 'ended';

export function effectiveStatus(status: StoredStatus, endsAt: Date | string, now: Date): PublicStatus {
  return status === 'published' && new Date(endsAt) <= now ? 'ended' : status;
}
