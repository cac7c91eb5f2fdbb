// problem+json (RFC 9457) → a sentence for people. The `type` is stable API (https://eventtickets.dev/problems/<slug>);
// its slug picks the message. An unknown slug falls back to the server's `detail`, then to the status.
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: Array<{ field?: string; message?: string }>;
  [extension: string]: unknown;
}

const MESSAGES: Record<string, string> = {
  // sign in / accounts
  'invalid-credentials': 'That e-mail and password do not match. Check them and try again.',
  'email-taken': 'An account with this e-mail already exists. Sign in instead.',
  'invalid-refresh-token': 'Your session has ended. Please sign in again.',
  'refresh-token-expired': 'Your session has ended. Please sign in again.',
  'refresh-token-reused': 'For your safety you were signed out. Please sign in again.',
  'refresh-token-revoked': 'Your session has ended. Please sign in again.',
  unauthorized: 'Please sign in to continue.',
  'insufficient-role': 'Your account may not do this.',
  forbidden: 'Your account may not do this.',
  'login-backoff': 'Too many failed sign-ins for this account. Wait a few minutes, then try again.',
  'registration-backoff': 'Too many sign-ups for e-mails that already have an account. Wait a while or sign in.',
  'password-work-busy': 'Many people are signing in right now. Try again in a second.',
  // browsing
  'event-not-found': 'This event does not exist (any more).',
  'not-found': 'We could not find that.',
  'invalid-cursor': 'The list changed while you were reading it. Start again from the top.',
  'invalid-date': 'One of the dates is not valid.',
  // seats and holds
  'seats-unavailable': 'Someone else just took one of those seats. Pick others.',
  'seats-busy': 'Those seats are being booked by someone else right now. Try again in a moment.',
  'unknown-seats': 'One of those seats does not exist on this map any more. Reload the page.',
  'unknown-areas': 'That area does not exist on this map any more. Reload the page.',
  'ga-capacity-exceeded': 'Not enough places are left in that area for this quantity.',
  'too-many-seats': 'You picked more seats than this event allows per order.',
  'sales-not-open': 'Ticket sales for this event have not started yet.',
  'sales-closed': 'Ticket sales for this event have closed.',
  'event-cancelled': 'This event has been cancelled.',
  'hold-expired': 'Your reservation expired and the seats were released. Pick your seats again.',
  'hold-not-active': 'Your reservation is no longer active. Pick your seats again.',
  'hold-not-found': 'Your reservation could not be found. Pick your seats again.',
  // orders and payment
  'payment-declined': 'Your card was declined. Try another card; your seats are still reserved.',
  'card-invalid': 'The card details are not valid. Check the number, expiry date and CVC.',
  'order-expired': 'This order expired before it was paid. Pick your seats again.',
  'order-not-payable': 'This order can no longer be paid.',
  'order-already-paid': 'This order is already paid.',
  'payment-in-progress': 'A payment for this order is still being processed. Wait a moment.',
  'order-exists-for-hold': 'An order already exists for these seats.',
  'order-not-cancellable': 'This order can no longer be cancelled.',
  'refund-deadline-passed': 'The deadline for refunds on this event has passed.',
  'order-not-found': 'We could not find that order.',
  'ticket-not-found': 'We could not find that ticket.',
  'receipt-not-found': 'There is no receipt for this order yet.',
  // generic
  'validation-error': 'Some of the details are not valid.',
  'rate-limited': 'Too many attempts in a short time. Wait a moment and try again.',
  'payload-too-large': 'That is more data than we accept in one go.',
  unavailable: 'The service is busy or briefly unavailable. Try again in a moment.',
  'bad-gateway': 'The service is briefly unavailable. Try again in a moment.',
  'gateway-timeout': 'The service took too long to answer. Try again in a moment.',
  'request-timeout': 'The request took too long. Try again.',
  internal: 'Something went wrong on our side. Try again in a moment.',
};

const DECLINE_REASONS: Record<string, string> = {
  card_declined: 'Your card was declined.',
  insufficient_funds: 'Your card was declined: insufficient funds.',
  expired_card: 'Your card has expired.',
};

function declined(reason: unknown): string {
  const why = (typeof reason === 'string' && DECLINE_REASONS[reason]) || 'Your card was declined.';
  return `${why} Try another card; your seats are still reserved.`;
}

/** The slug of a problem type: https://eventtickets.dev/problems/seats-unavailable → seats-unavailable. */
export function problemSlug(problem: Problem | undefined): string | undefined {
  const type = problem?.type;
  if (!type || type === 'about:blank') return undefined;
  return type.slice(type.lastIndexOf('/') + 1) || undefined;
}

function fieldList(problem: Problem): string {
  const fields = (problem.errors ?? []).map((e) => [e.field, e.message].filter(Boolean).join(' ')).filter(Boolean);
  return fields.length ? `: ${fields.slice(0, 3).join('; ')}.` : '.';
}

export function humanMessage(problem: Problem | undefined, status?: number): string {
  const slug = problemSlug(problem);
  if (slug && MESSAGES[slug]) {
    if (slug === 'validation-error' && problem) return MESSAGES[slug].replace(/\.$/, '') + fieldList(problem);
    if (slug === 'payment-declined') return declined(problem?.reason);
    return MESSAGES[slug];
  }
  if (problem?.detail) return problem.detail;
  const s = problem?.status ?? status;
  if (s === 401) return MESSAGES.unauthorized;
  if (s === 403) return MESSAGES.forbidden;
  if (s === 404) return MESSAGES['not-found'];
  if (s === 429) return MESSAGES['rate-limited'];
  if (s !== undefined && s >= 500) return MESSAGES.unavailable;
  return problem?.title ?? 'Something went wrong. Try again.';
}

/** An API failure with its problem and a message ready to show. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;
  readonly slug: string | undefined;
  constructor(status: number, problem: Problem | undefined) {
    super(humanMessage(problem, status));
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.slug = problemSlug(problem);
  }
}

export const OFFLINE_MESSAGE = 'We cannot reach EventTickets. Check your connection and try again.';

/** Any thrown value → the sentence to show. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return OFFLINE_MESSAGE; // fetch's network failure
  return error instanceof Error && error.message ? error.message : 'Something went wrong. Try again.';
}
