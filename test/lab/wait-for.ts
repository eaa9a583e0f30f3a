// Polling until a condition holds: the netns tests wait on real daemons and real kernels, where there is no
// event to await, only state to look at again.

export interface WaitForOptions {
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
  /** Pause between attempts. Default 100 ms. */
  intervalMs?: number;
  /** Named in the timeout error, e.g. "a reaches c over the overlay". */
  what?: string;
}

export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';
  readonly code = 'LAB_WAIT_TIMEOUT';
}

/**
 * Calls `fn` until it returns a truthy value, and resolves to that value. A throw from `fn` counts as "not
 * yet" (the last one is quoted in the timeout error), so `fn` may simply assert.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutOrOpts: number | WaitForOptions = {},
): Promise<NonNullable<T>> {
  const opts = typeof timeoutOrOpts === 'number' ? { timeoutMs: timeoutOrOpts } : timeoutOrOpts;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new WaitForTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}${why}`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}
