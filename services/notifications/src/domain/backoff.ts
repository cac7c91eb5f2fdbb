// Retry delays: exponential from the base, doubling per failed attempt, capped; a little jitter (up to 10 %
// below the delay) so messages that failed together do not all retry in the same instant.
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(exp - exp * 0.1 * random()));
}
