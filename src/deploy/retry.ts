/** Bounded retry with exponential backoff for transient API failures (409, 429, 5xx, reset connections). */
import { isRetryable } from './errors.js';

export interface RetryOptions {
  /** Total attempts including the first. */
  attempts?: number;
  /** Delay before the second attempt; doubles each time, capped at 2 s. */
  initialDelayMs?: number;
  signal?: AbortSignal;
  retryable?: (error: unknown) => boolean;
}

const DEFAULT_ATTEMPTS = 5;

export async function withRetry<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const retryable = options.retryable ?? isRetryable;
  let delay = options.initialDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !retryable(error) || options.signal?.aborted) throw error;
      await sleep(delay, options.signal);
      delay = Math.min(delay * 2, 2000);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
