import { setTimeout as sleep } from 'node:timers/promises';
import { CapacityError } from '../../core/src/errors';

/** How retries of a throttled or refused AWS call are spaced. */
export interface Backoff {
  /** The first pause's upper bound; each retry doubles it. */
  readonly baseMs: number;
  /** The most any pause may last. */
  readonly maxMs: number;
  /** A number in [0, 1): Math.random unless a test fixes it. */
  readonly random: () => number;
  /** Waits `ms`, or rejects with the signal's reason once it is aborted. */
  readonly pause: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * The pause before retry number `retry` (1 for the first): "full jitter", a random time up to
 * the exponential bound, so that workers throttled together do not retry together.
 */
export function backoffMs(retry: number, backoff: Backoff): number {
  const boundMs = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (retry - 1));
  return Math.floor(backoff.random() * boundMs);
}

/** Error names AWS services use for "slow down". */
const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

export function isThrottling(error: unknown): boolean {
  return error instanceof Error && THROTTLING_NAMES.has(error.name);
}

/** Waits `ms`; rejects with the signal's reason once it is aborted. */
export async function pauseFor(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, signal === undefined ? {} : { signal });
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  }
}

/**
 * Calls again while `service` throttles, up to `attempts` calls in all, then throws
 * CapacityError. Any other error, or an aborted signal, ends it at once.
 */
export async function withThrottleRetries<T>(
  service: string,
  call: () => Promise<T>,
  retry: { readonly attempts: number; readonly backoff: Backoff; readonly signal?: AbortSignal },
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (retry.signal?.aborted || !isThrottling(error)) throw error;
      if (attempt >= retry.attempts) {
        throw new CapacityError(`${service} kept throttling`, { cause: error });
      }
    }
    await retry.backoff.pause(backoffMs(attempt, retry.backoff), retry.signal);
  }
}

export const DEFAULT_BACKOFF: Backoff = {
  baseMs: 1_000,
  maxMs: 20_000,
  random: Math.random,
  pause: pauseFor,
};
