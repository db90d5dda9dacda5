import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeBackoffDelay,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  type RetryPolicy,
} from '../../src/rollout/retry-policy.js';

const HOUR = 3_600_000;
const policy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 8000, jitter: 0, horizonMs: HOUR };

describe('computeBackoffDelay', () => {
  it('doubles from the base delay and stops growing at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => computeBackoffDelay(a, policy, 0.5))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });

  it('keeps every jittered delay within ±jitter of the capped delay', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (attempt, r) => {
        const p = DEFAULT_RETRY_POLICY;
        const capped = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1));
        const delay = computeBackoffDelay(attempt, p, r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(capped * (1 - p.jitter)));
        expect(delay).toBeLessThanOrEqual(Math.ceil(capped * (1 + p.jitter)));
      }),
    );
  });

  it('spreads the retries of one wave apart (jitter), so a site is not hit all at once', () => {
    const spread = new Set([0, 0.25, 0.5, 0.75, 0.99].map((r) => computeBackoffDelay(3, DEFAULT_RETRY_POLICY, r)));
    expect(spread.size).toBe(5);
  });
});

describe('decideRetry', () => {
  it('retries a transient failure with the computed delay and the time of the next attempt', () => {
    expect(decideRetry(2, 0, 10_000, policy, 0.5)).toEqual({ retry: true, delayMs: 2000, nextAttemptAt: 12_000 });
  });

  it('gives up once the attempt that failed was the last allowed one', () => {
    expect(decideRetry(5, 0, 0, policy, 0.5).retry).toBe(true);
    expect(decideRetry(6, 0, 0, policy, 0.5)).toEqual({ retry: false, reason: 'attempts-exhausted' });
  });

  it('gives up on an offline host once the next attempt would land past the horizon', () => {
    const first = 0;
    expect(decideRetry(2, first, HOUR - 2000, policy, 0.5).retry).toBe(true); // lands exactly on the horizon
    expect(decideRetry(2, first, HOUR - 1999, policy, 0.5)).toEqual({ retry: false, reason: 'horizon-exceeded' });
  });

  it('with the default policy keeps an offline laptop for 72 h, backing off to hourly', () => {
    let now = 0;
    let attempt = 1;
    const delays: number[] = [];
    for (;;) {
      const decision = decideRetry(attempt, 0, now, DEFAULT_RETRY_POLICY, 0.5);
      if (!decision.retry) {
        expect(decision.reason).toBe('attempts-exhausted');
        break;
      }
      delays.push(decision.delayMs);
      now = decision.nextAttemptAt;
      attempt += 1;
    }
    expect(attempt).toBe(DEFAULT_RETRY_POLICY.maxAttempts);
    expect(Math.max(...delays)).toBe(HOUR);
    expect(now).toBeLessThanOrEqual(72 * HOUR);
  });
});
