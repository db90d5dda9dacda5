/**
 * Retry policy for transient failures (pure). Exponential backoff with full jitter, capped, and a horizon after
 * which an offline laptop is given up on. Times are in milliseconds; `random` is injected (0 ≤ r < 1).
 */
export interface RetryPolicy {
  /** Total attempts, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  /** Backoff stops growing here (e.g. hourly for offline laptops). */
  readonly maxDelayMs: number;
  /** Fraction of the delay randomised (0 = none, 1 = full jitter). */
  readonly jitter: number;
  /** Stop retrying once this long has passed since the first attempt (e.g. 72 h). */
  readonly horizonMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 25,
  baseDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  jitter: 0.2,
  horizonMs: 72 * 3_600_000,
});

/** Delay before attempt number `attempt + 1`, where `attempt` ≥ 1 is the attempt that just failed. */
export function computeBackoffDelay(attempt: number, policy: RetryPolicy, random: number): number {
  const exponential = policy.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  const jitterSpan = capped * policy.jitter;
  return Math.max(0, Math.round(capped - jitterSpan + 2 * jitterSpan * random));
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly nextAttemptAt: number }
  | { readonly retry: false; readonly reason: 'attempts-exhausted' | 'horizon-exceeded' };

/** After a transient failure of attempt `attempt` (1-based), at time `now`, for a user first tried at `firstAttemptAt`. */
export function decideRetry(
  attempt: number,
  firstAttemptAt: number,
  now: number,
  policy: RetryPolicy,
  random: number,
): RetryDecision {
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'attempts-exhausted' };
  const delayMs = computeBackoffDelay(attempt, policy, random);
  if (now + delayMs - firstAttemptAt > policy.horizonMs) return { retry: false, reason: 'horizon-exceeded' };
  return { retry: true, delayMs, nextAttemptAt: now + delayMs };
}
