// Artillery processor functions of the load scenarios (loaded through processor.mts, see there why). A virtual
// buyer's state between steps lives in its `context.vars` (Artillery's per-VU object); what is not plain data
// (the open seat-map stream, its live view of the seats) hangs off that object in a WeakMap.
//
// Failure rule: an answer the scenario does not expect (a 5xx, a 429, a 4xx other than a lost seat race) makes
// the afterResponse hook return an Error, so Artillery counts the VU as failed under `errors.<message>`; the
// messages name the step and the status, never an id, so they aggregate. A 409 on a hold is the race an
// on-sale is made of: counted, and the buyer tries other free seats (at most `holdAttempts` times). A sign-in
// answered 503 with a Retry-After (users shedding a rush) is waited out and tried again, as the app does.
import { appendFileSync } from 'node:fs';

type Vars = Record<string, any>;
interface Context {
  vars: Vars;
}
interface Events {
  emit(kind: 'counter' | 'histogram', name: string, value: number): void;
}
interface RequestParams {
  json?: unknown;
  headers?: Record<string, string>;
  [k: string]: unknown;
}
interface Response {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** What one buyer sees of the event's seats: the snapshot, then every change from the stream (if open). */
interface SeatView {
  seats: Map<string, string>;
  abort?: AbortController;
  openedAt: number;
}

const views = new WeakMap<Vars, SeatView>();

function parseBody(res: Response): any {
  const body = res.body;
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function closeView(vars: Vars): void {
  views.get(vars)?.abort?.abort();
}

function unexpected(vars: Vars, step: string, res: Response): Error {
  closeView(vars);
  return new Error(`${step} answered ${res.statusCode}`);
}

function expectStatus(step: string, status: number) {
  return async (_req: RequestParams, res: Response, context: Context): Promise<void> => {
    if (res.statusCode !== status) throw unexpected(context.vars, step, res);
  };
}

/** afterResponse of POST /api/auth/login: 200 keeps the token; 503 password-work-busy (users sheds a sign-in rush)
 *  waits its Retry-After, as the app does, and lets the sign-in loop try again, at most `loginAttempts` (5) times;
 *  anything else fails the VU. */
export async function loginAnswer(_req: RequestParams, res: Response, context: Context, events: Events): Promise<void> {
  const vars = context.vars;
  vars.loginTries = Number(vars.loginTries ?? 0) + 1;
  if (res.statusCode === 200) {
    vars.token = (parseBody(res) as { accessToken: string }).accessToken;
    return;
  }
  const retryAfter = Number(res.headers['retry-after'] ?? 0);
  if (res.statusCode === 503 && retryAfter > 0 && vars.loginTries < Number(vars.loginAttempts ?? 5)) {
    events.emit('counter', 'buyer.sign_in_busy', 1);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    return;
  }
  throw unexpected(vars, 'POST /api/auth/login', res);
}

/** whileTrue of the sign-in loop: not signed in yet (loginAnswer throws when attempts run out). */
export function notSignedIn(context: Context, done: (again: boolean) => void): void {
  done(!context.vars.token);
}
export const expectMethod = expectStatus('POST /api/payments/methods', 201);
export const expectOrder = expectStatus('POST /api/orders', 201);
export const expectPage = expectStatus('GET /api/events', 200);
export const expectDetail = expectStatus('GET /api/events/{id}', 200);
export const expectAvailability = expectStatus('GET /api/events/{id}/availability', 200);

// ---- the seat map: a snapshot read once (checkout) or the live stream (on-sale)

/** afterResponse of GET /api/events/{id}/availability: the buyer's view of the seats from the snapshot. */
export async function keepSnapshot(_req: RequestParams, res: Response, context: Context): Promise<void> {
  if (res.statusCode !== 200) throw unexpected(context.vars, 'GET /api/events/{id}/availability', res);
  const snapshot = parseBody(res) as { seats: Record<string, string> };
  views.set(context.vars, { seats: new Map(Object.entries(snapshot.seats)), openedAt: performance.now() });
}

function applySse(view: SeatView, block: string): 'snapshot' | 'change' | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (event !== 'snapshot' && event !== 'change') return undefined;
  const payload = JSON.parse(data.join('\n')) as { seats?: Record<string, string> };
  if (event === 'snapshot') view.seats = new Map(Object.entries(payload.seats ?? {}));
  else for (const [seat, state] of Object.entries(payload.seats ?? {})) view.seats.set(seat, state);
  return event;
}

/** Opens the event's availability stream through the gateway, waits for its snapshot (histogram
 *  `seatmap.snapshot_ms`), then keeps applying its changes to the buyer's view until closeSeatMap (or the
 *  stream's bound, `streamMaxS`, so a failed VU never keeps its socket). */
export async function openSeatMap(context: Context, events: Events): Promise<void> {
  const vars = context.vars;
  const started = performance.now();
  const abort = new AbortController();
  const bound = setTimeout(() => abort.abort(), Number(vars.streamMaxS ?? 300) * 1000);
  bound.unref();
  const view: SeatView = { seats: new Map(), abort, openedAt: started };
  views.set(vars, view);
  const res = await fetch(`${vars.gatewayUrl}/api/events/${vars.eventId}/availability/stream`, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${vars.token}` },
    signal: abort.signal,
  });
  if (res.status !== 200 || !res.body) {
    abort.abort();
    throw new Error(`GET /api/events/{id}/availability/stream answered ${res.status}`);
  }
  events.emit('counter', 'seatmap.streams_opened', 1);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let gotSnapshot: (() => void) | undefined;
  const snapshot = new Promise<void>((resolve) => (gotSnapshot = resolve));
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const kind = applySse(view, buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (kind === 'snapshot') gotSnapshot?.();
        else if (kind === 'change') events.emit('counter', 'seatmap.changes_received', 1);
      }
    }
  })().catch(() => undefined); // aborted: the buyer is done with the map
  await Promise.race([snapshot, pump]);
  if (view.seats.size === 0) {
    abort.abort();
    throw new Error('GET /api/events/{id}/availability/stream ended before its snapshot');
  }
  events.emit('histogram', 'seatmap.snapshot_ms', performance.now() - started);
}

export async function closeSeatMap(context: Context): Promise<void> {
  closeView(context.vars);
}

// ---- holding free seats

function shuffleFree(view: SeatView): string[] {
  const free = [...view.seats].filter(([, s]) => s === 'available').map(([id]) => id);
  for (let i = free.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [free[i], free[j]] = [free[j]!, free[i]!];
  }
  return free;
}

/** ifTrue of the hold request: no hold yet, attempts left, and the buyer's map still shows a free seat. */
export function wantsHold(vars: Vars): boolean {
  if (vars.holdId) return false;
  if (Number(vars.holdTries ?? 0) >= Number(vars.holdAttempts ?? 5)) return false;
  const view = views.get(vars);
  return !!view && [...view.seats.values()].some((s) => s === 'available');
}

/** whileTrue of the hold loop (Artillery calls it after each pass with a callback). */
export function tryAgain(context: Context, done: (again: boolean) => void): void {
  done(wantsHold(context.vars));
}

/** beforeRequest of POST /api/holds: `seatsPerBuyer` seats the buyer's map shows free, picked at random. */
export async function holdBody(req: RequestParams, context: Context): Promise<void> {
  const vars = context.vars;
  const view = views.get(vars)!;
  const seats = shuffleFree(view).slice(0, Number(vars.seatsPerBuyer ?? 1));
  vars.holdTries = Number(vars.holdTries ?? 0) + 1;
  vars.holdSeats = seats;
  vars.holdSentAt = performance.now();
  req.json = { eventId: vars.eventId, seats };
}

/** afterResponse of POST /api/holds: 201 keeps the hold (and records it for the seat invariant), 409 marks the
 *  lost seats taken on the buyer's map and lets the loop try others; anything else fails the VU. */
export async function holdAnswer(_req: RequestParams, res: Response, context: Context, events: Events): Promise<void> {
  const vars = context.vars;
  if (res.statusCode === 201) {
    const hold = parseBody(res) as { id: string; seats: { seatId: string }[] };
    vars.holdId = hold.id;
    vars.heldAt = performance.now();
    events.emit('counter', 'buyer.holds_granted', 1);
    if (vars.grantsFile)
      appendFileSync(
        vars.grantsFile,
        `${JSON.stringify({ holdId: hold.id, seats: hold.seats.map((s) => s.seatId) })}\n`,
      );
    return;
  }
  if (res.statusCode === 409) {
    events.emit('counter', 'buyer.holds_conflicted', 1);
    const view = views.get(vars);
    // the stream will say which seats went; until it does, none of the asked ones is tried again
    if (view)
      for (const seat of vars.holdSeats as string[])
        if (view.seats.get(seat) === 'available') view.seats.set(seat, 'held');
    return;
  }
  // an answer that is neither: the hold may still have been made (a 504 after the commit), so the verification
  // allows its seats as taken without a grant
  if (vars.grantsFile) appendFileSync(vars.grantsFile, `${JSON.stringify({ unknown: vars.holdSeats })}\n`);
  throw unexpected(vars, 'POST /api/holds', res);
}

/** After the hold loop: a buyer who got no seat (sold out on its map, or `holdAttempts` races lost) leaves. */
export async function afterHolds(context: Context, events: Events): Promise<void> {
  if (!context.vars.holdId) {
    events.emit('counter', 'buyer.left_without_seats', 1);
    closeView(context.vars);
  }
}

/** ifTrue of the purchase steps after the hold. */
export function hasHold(vars: Vars): boolean {
  return !!vars.holdId;
}

/** ifTrue of the pay step: an order was created. */
export function hasOrder(vars: Vars): boolean {
  return !!vars.orderId;
}

/** afterResponse of POST /api/orders/{id}/pay: the test card 4242 confirms at once. */
export async function payAnswer(_req: RequestParams, res: Response, context: Context, events: Events): Promise<void> {
  const vars = context.vars;
  const body = parseBody(res) as { status?: string } | undefined;
  if (res.statusCode !== 200) throw unexpected(vars, 'POST /api/orders/{id}/pay', res);
  if (body?.status === 'confirmed') {
    events.emit('counter', 'buyer.orders_paid', 1);
    events.emit('histogram', 'buyer.hold_to_paid_ms', performance.now() - Number(vars.heldAt));
  } else {
    closeView(vars);
    throw new Error(`POST /api/orders/{id}/pay gave status ${body?.status ?? 'none'}`);
  }
}

/** afterResponse of GET /api/tickets: the order's tickets, one per seat held. */
export async function ticketsAnswer(
  _req: RequestParams,
  res: Response,
  context: Context,
  events: Events,
): Promise<void> {
  const vars = context.vars;
  if (res.statusCode !== 200) throw unexpected(vars, 'GET /api/tickets', res);
  const body = parseBody(res) as { items: { orderId: string }[] };
  const mine = body.items.filter((t) => t.orderId === vars.orderId).length;
  events.emit('counter', 'buyer.tickets_seen', mine);
  if (mine === 0) {
    closeView(vars);
    throw new Error('GET /api/tickets shows no ticket for a paid order');
  }
}

// ---- browsing

function pick<T>(list: T[]): T {
  return list[Math.floor(Math.random() * list.length)]!;
}

/** A random event id and search term of those the run found (variables `eventIds`, `searchTerms`). */
export async function pickEvent(context: Context): Promise<void> {
  const vars = context.vars;
  vars.eventId = pick(String(vars.eventIds).split(','));
  vars.term = pick(String(vars.searchTerms).split(','));
}

/** afterResponse of a list page: keeps its cursor so the next step reads the following page. */
export async function keepCursor(_req: RequestParams, res: Response, context: Context): Promise<void> {
  if (res.statusCode !== 200) throw unexpected(context.vars, 'GET /api/events', res);
  const body = parseBody(res) as { nextCursor: string | null };
  context.vars.cursor = body.nextCursor ?? '';
}

export function hasCursor(vars: Vars): boolean {
  return !!vars.cursor;
}
