// The one polling helper of the test kit: retries until the probe returns a value (or stops throwing an
// assertion error). Bounded by a generous limit that names what was awaited; never a timing assertion.
export interface WaitOptions {
  /** Give up after this long (default 20 s: generous, the suite's timeout is the real bound). */
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Calls probe until it returns something other than undefined, null or false, and returns that. A probe that
 * throws an AssertionError is retried too (so chai assertions can be the probe); any other error fails at once.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const interval = opts.intervalMs ?? 25;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as T;
      lastError = undefined;
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'AssertionError') throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`gave up waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
