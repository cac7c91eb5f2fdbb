// Rate limits (rate-limiter-flexible): per client IP on every API route, per user once authenticated,
// per account+IP on login/register, per user on hold creation. Counters live in Redis so every gateway
// replica shares them; only the announced no-Redis mode counts in memory. A Redis outage falls back to
// an in-memory insurance limiter rather than failing requests. Large limits are taken from Redis in
// small leases (leases.ts) so that a busy key costs one round trip per lease, not one per request.
import type { Context } from 'koa';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Identity, Redis } from '@eventtickets/platform';
import { HttpProblem } from '@eventtickets/platform/errors';
import type { RateLimitClass } from '../domain/routing.ts';
import { LeasedLimiter, type Consumed } from './leases.ts';

export interface LimitSpec {
  points: number;
  windowS: number;
}

export interface RateLimitOptions {
  redis?: Redis;
  prefix: string;
  ip: LimitSpec;
  user: LimitSpec;
  login: LimitSpec;
  holds: LimitSpec;
  /** Called with the limit's name (ip, user, login, holds) on every 429 (the gateway's metrics). */
  onRefused?: (limit: string) => void;
}

export interface RateLimits {
  /** Before authentication: consumes the client IP's point, so requests with bad tokens (401) or for
   *  forbidden routes (403) count too and cannot flood the signature check or the JWKS refetch budget. */
  checkClient: (ctx: Context, req: { limitClass: RateLimitClass; ip: string }) => Promise<void>;
  /** After authentication: the per-user, login and holds limits; throws a 429 problem when one is
   *  exhausted, otherwise sets the RateLimit-* headers of the tightest limit of both stages. */
  check: (ctx: Context, req: { limitClass: RateLimitClass; identity?: Identity; account?: string }) => Promise<void>;
  mode: 'redis' | 'memory';
}

interface Tightest {
  spec: LimitSpec;
  res: Consumed;
}

interface NamedLimiter {
  name: string;
  limiter: { consume: (key: string) => Promise<Consumed>; tryLocal?: (key: string) => Consumed | undefined };
  spec: LimitSpec;
}

/** One point from a limiter: answered at once from a local lease when it has one (no promise, no await on the
 *  hot path), else the limiter's consume. A refusal is a rejected outcome either way, as Promise.allSettled has it. */
function consumeOne(limiter: NamedLimiter['limiter'], key: string): PromiseSettledResult<Consumed> | Promise<Consumed> {
  if (limiter.tryLocal) {
    try {
      const local = limiter.tryLocal(key);
      if (local) return { status: 'fulfilled', value: local };
    } catch (reason) {
      return { status: 'rejected', reason };
    }
  }
  return limiter.consume(key);
}

function makeLimiter(name: string, spec: LimitSpec, opts: RateLimitOptions): NamedLimiter {
  const keyPrefix = `${opts.prefix}gw:rl:${name}`;
  const memory = new RateLimiterMemory({ keyPrefix, points: spec.points, duration: spec.windowS });
  const limiter = opts.redis
    ? new LeasedLimiter(
        new RateLimiterRedis({
          storeClient: opts.redis,
          keyPrefix,
          points: spec.points,
          duration: spec.windowS,
          insuranceLimiter: memory,
          // Not connected (lost to a hanging or dead server): the insurance limiter answers at once. A command
          // sent to a server that hangs fails after the client's command timeout and falls back the same way.
          rejectIfRedisNotReady: true,
        }),
        spec.points,
      )
    : memory;
  return { name, limiter, spec };
}

function setLimitHeaders(ctx: Context, spec: LimitSpec, res: Consumed): void {
  ctx.set('RateLimit-Limit', String(spec.points));
  ctx.set('RateLimit-Remaining', String(Math.max(0, res.remainingPoints)));
  ctx.set('RateLimit-Reset', String(Math.max(1, Math.ceil(res.msBeforeNext / 1000))));
}

export function createRateLimits(opts: RateLimitOptions): RateLimits {
  const ip = makeLimiter('ip', opts.ip, opts);
  const user = makeLimiter('user', opts.user, opts);
  const login = makeLimiter('login', opts.login, opts);
  const holds = makeLimiter('holds', opts.holds, opts);

  /** Consumes one point from each limiter; throws the first refusal as a 429, else returns the tightest. */
  async function consume(
    ctx: Context,
    applicable: Array<[NamedLimiter, string]>,
    tightest?: Tightest,
  ): Promise<Tightest | undefined> {
    // Every applicable limiter takes its point (even when another refuses), then the first refusal answers.
    const outcomes = applicable.map(([l, key]) => consumeOne(l.limiter, key));
    for (let i = 0; i < outcomes.length; i++) {
      const pending = outcomes[i];
      // all were started above, so waiting for them one after the other takes as long as waiting for all
      if (pending instanceof Promise)
        outcomes[i] = await pending.then(
          (value): PromiseSettledResult<Consumed> => ({ status: 'fulfilled', value }),
          (reason): PromiseSettledResult<Consumed> => ({ status: 'rejected', reason }),
        );
    }
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i] as PromiseSettledResult<Consumed>;
      const { spec, name } = applicable[i][0];
      if (outcome.status === 'rejected') {
        // Only a RateLimiterRes means "over the limit"; any other error has already fallen back to memory.
        if (!(outcome.reason instanceof RateLimiterRes)) continue;
        const res = outcome.reason;
        const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
        setLimitHeaders(ctx, spec, res);
        opts.onRefused?.(name);
        throw new HttpProblem(
          429,
          'rate-limited',
          'Too many requests',
          `The ${name} rate limit of ${spec.points} requests per ${spec.windowS} s is exhausted; retry in ${retryAfter} s`,
          { limit: name },
          { 'Retry-After': String(retryAfter) },
        );
      }
      const res = outcome.value;
      if (!tightest || res.remainingPoints / spec.points < tightest.res.remainingPoints / tightest.spec.points)
        tightest = { spec, res };
    }
    return tightest;
  }

  async function checkClient(ctx: Context, req: { limitClass: RateLimitClass; ip: string }): Promise<void> {
    if (req.limitClass === 'none') return;
    const tightest = await consume(ctx, [[ip, req.ip]]);
    ctx.state.rateLimitTightest = tightest;
    if (tightest) setLimitHeaders(ctx, tightest.spec, tightest.res);
  }

  async function check(
    ctx: Context,
    req: { limitClass: RateLimitClass; identity?: Identity; account?: string },
  ): Promise<void> {
    if (req.limitClass === 'none') return;
    const applicable: Array<[NamedLimiter, string]> = [];
    if (req.identity) applicable.push([user, req.identity.userId]);
    if (req.limitClass === 'login') applicable.push([login, `${(req.account ?? '').toLowerCase()}|${ctx.ip}`]);
    if (req.limitClass === 'holds' && req.identity) applicable.push([holds, req.identity.userId]);
    if (!applicable.length) return;
    const tightest = await consume(ctx, applicable, ctx.state.rateLimitTightest as Tightest | undefined);
    if (tightest) setLimitHeaders(ctx, tightest.spec, tightest.res);
  }

  return { checkClient, check, mode: opts.redis ? 'redis' : 'memory' };
}
