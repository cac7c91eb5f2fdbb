// The organizer's errors as sentences: catalog's and orders' problem types that only organizers meet, with the
// service's list of problems (seat map, event times, tier mapping) when it sends one. Anything else falls back
// to the app-wide messages (src/api/problems.ts).
import { ApiError, messageOf } from 'src/api/problems';

const ORGANIZER_MESSAGES: Record<string, string> = {
  'invalid-seat-map': 'The seat map has problems:',
  'invalid-venue': 'The venue has problems:',
  'invalid-event': 'The event has problems:',
  'unknown-venue': 'That venue does not exist (any more). Pick another one.',
  'unpriced-seats': 'Some seats or areas have no price yet. Give every section and standing area a tier, then publish.',
  'invalid-transition':
    'The event cannot change like that in its current state (for example, a cancelled event cannot be published).',
  'event-locked':
    'This event is published: its dates, venue and prices can no longer change. Title, description and category still can.',
  'seat-map-locked':
    'This venue has published events that have not ended yet, so its seat map cannot change. Name, city and address still can.',
  'not-found': 'We could not find that. It may belong to another organizer.',
  forbidden: 'Only the organizer of this event (or an admin) may do this.',
  'event-not-found': 'We could not find that event.',
};

/** The domain problems the service listed (path, code, message), when it listed any. */
export function problemList(error: unknown): string[] {
  if (!(error instanceof ApiError)) return [];
  const list = error.problem?.problems;
  if (!Array.isArray(list)) return [];
  return list
    .map((p: unknown) =>
      p && typeof p === 'object' && 'message' in p ? String((p as { message: unknown }).message) : '',
    )
    .filter(Boolean);
}

export function organizerMessage(error: unknown): string {
  if (error instanceof ApiError && error.slug && ORGANIZER_MESSAGES[error.slug]) {
    const head = ORGANIZER_MESSAGES[error.slug]!;
    const list = problemList(error);
    if (!head.endsWith(':')) return head;
    if (!list.length) return head.replace(/:$/, '.');
    const more = list.length > 3 ? ` (and ${list.length - 3} more)` : '';
    return `${head} ${list.slice(0, 3).join('; ')}${more}.`;
  }
  return messageOf(error);
}
