// Time, injected: loops and retries sleep through a Clock so that tests can drive them without
// waiting, and so that every sleep can be cut short by an AbortSignal on shutdown.

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export interface BackoffOptions {
  /** First delay, in ms. */
  readonly baseMs: number;
  /** No delay exceeds this. */
  readonly maxMs: number;
}

/**
 * Exponential backoff with "full jitter" (a uniform delay in [0, min(max, base * 2^attempt)]):
 * jitter spreads the retries of many nodes hitting one recovering RPC provider, and the cap
 * bounds how long a node stays behind after L1 comes back.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  // Never below half the ceiling: a zero delay would hammer the provider on the first retries.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
