// Leased rate-limit points: instead of one Redis round trip per request, a gateway replica takes a small
// batch of points ("lease") from the shared Redis counter in one INCRBY and hands them out locally.
//
// Why this stays correct across replicas: the shared counter is incremented by the whole lease before any
// of its points is used, and INCRBY is atomic, so every replica owns a disjoint slice of the window's
// points and the sum handed out never exceeds the limit. A lease that straddles the limit is granted only
// its part below the limit. The cost is strictness, never leniency: points leased by one replica and not
// used there are not available to another one, so a client spread over R replicas may be refused at most
// ·(lease-1) points early. A lease dies with its window (fixed windows: the Redis key expires), and
// once Redis says a key is over its limit, the replica refuses locally until that window ends (the counter
// only grows within a window, so asking again could not change the answer).
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** Share of a limit a replica leases at once, and the most points one lease may hold. */
export const LEASE_FRACTION = 0.01;
export const MAX_LEASE = 25;

/** 1 (exact, one round trip per request) for small limits such as login or holds; 12 for 1200/window. */
export function leaseSize(points: number): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(points * LEASE_FRACTION)));
}

/** What a successful consume reports (the fields the RateLimit-* headers need). */
export interface Consumed {
  remainingPoints: number;
  msBeforeNext: number;
}

interface KeyState {
  /** Points of the current lease not handed out yet. */
  left: number;
  /** Points the shared counter had left when the lease was taken (other replicas may have used some since). */
  sharedRemaining: number;
  /** Epoch ms at which the window, and with it the lease or the refusal, ends. */
  resetAt: number;
  /** Redis said this key is over its limit for the rest of the window. */
  exhausted: boolean;
  consumedPoints: number;
}

const SWEEP_EVERY_TAKES = 1024;

export class LeasedLimiter {
  readonly #shared: RateLimiterAbstract;
  readonly #points: number;
  readonly #lease: number;
  readonly #keys = new Map<string, KeyState>();
  /** One lease request in flight per key: concurrent requests wait for it instead of each asking Redis. */
  readonly #taking = new Map<string, Promise<void>>();
  #takes = 0;

  constructor(shared: RateLimiterAbstract, points: number, lease = leaseSize(points)) {
    this.#shared = shared;
    this.#points = points;
    this.#lease = Math.max(1, Math.min(lease, points));
  }

  get lease(): number {
    return this.#lease;
  }

  /** A point of the key's current lease, without waiting (the first step of consume): undefined when Redis has
   *  to be asked (then call consume); throws a RateLimiterRes when the key is refused for this window. */
  tryLocal(key: string): Consumed | undefined {
    const state = this.#keys.get(key);
    return state && Date.now() < state.resetAt ? this.#use(state) : undefined;
  }

  /** Consumes one point; rejects with a RateLimiterRes when the key is over its limit (as rate-limiter-flexible does). */
  async consume(key: string): Promise<Consumed> {
    for (;;) {
      const state = this.#keys.get(key);
      const local = state && Date.now() < state.resetAt ? this.#use(state) : undefined;
      if (local) return local;
      const pending = this.#taking.get(key);
      if (pending) {
        await pending; // then look again: the new lease may already be used up by those who waited earlier
        continue;
      }
      const taking = this.#take(key).finally(() => this.#taking.delete(key));
      // Waiters only need to know it is over; a failure is reported to the request that asked.
      this.#taking.set(
        key,
        taking.then(
          () => undefined,
          () => undefined,
        ),
      );
      // The asker is answered from its own lease even if the window ended meanwhile (a 0 ms TTL must not loop).
      const fresh = this.#use(await taking);
      if (fresh) return fresh;
    }
  }

  /** A point of this lease; throws when the window is refused; undefined when the lease is used up. */
  #use(state: KeyState): Consumed | undefined {
    const msBeforeNext = Math.max(0, state.resetAt - Date.now());
    if (state.exhausted) throw new RateLimiterRes(0, msBeforeNext, state.consumedPoints, false);
    if (state.left <= 0) return undefined;
    state.left--;
    return { remainingPoints: state.sharedRemaining + state.left, msBeforeNext };
  }

  async #take(key: string): Promise<KeyState> {
    let res: RateLimiterRes;
    try {
      res = await this.#shared.consume(key, this.#lease);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err; // a store error (no insurance limiter answered)
      res = err;
    }
    // Our slice of the counter is (consumed - lease, consumed]; only its part within the limit is ours to use.
    const granted = Math.min(this.#lease, this.#points - (res.consumedPoints - this.#lease));
    const state: KeyState = {
      left: Math.max(0, granted),
      sharedRemaining: Math.max(0, this.#points - res.consumedPoints),
      resetAt: Date.now() + res.msBeforeNext,
      exhausted: granted <= 0,
      consumedPoints: res.consumedPoints,
    };
    this.#keys.set(key, state);
    if (++this.#takes % SWEEP_EVERY_TAKES === 0) this.#sweep();
    return state;
  }

  /** Forgets keys whose window is over (bounded memory however many clients pass by). */
  #sweep(): void {
    const now = Date.now();
    for (const [key, state] of this.#keys) if (state.resetAt <= now) this.#keys.delete(key);
  }

  /** Keys currently remembered (for tests of the sweep). */
  get size(): number {
    return this.#keys.size;
  }
}
