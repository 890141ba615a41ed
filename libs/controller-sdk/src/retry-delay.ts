export interface RetryDelayOptions {
  /** Delay before the second try. Default 200 ms. */
  baseMs?: number;
  /** Cap of the exponential growth. Default 60 s. */
  maxMs?: number;
  /** Injected for tests; defaults to `Math.random`. */
  random?: () => number;
}

/**
 * Capped exponential backoff with "equal jitter": half of the step is fixed, half random, so
 * retries of many objects that failed together spread out but never come back immediately.
 * `attempt` is the try that just failed (1 for the first).
 */
export function retryDelayMs(attempt: number, options: RetryDelayOptions = {}): number {
  const base = options.baseMs ?? 200;
  const max = options.maxMs ?? 60_000;
  const random = options.random ?? Math.random;
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const step = Math.min(max, base * 2 ** exponent);
  return Math.round(step / 2 + random() * (step / 2));
}

/** A short delay spread by ±50 %, for "try again soon" (a busy lease, a stale write). */
export function jittered(delayMs: number, random: () => number = Math.random): number {
  return Math.round(delayMs * (0.5 + random()));
}
