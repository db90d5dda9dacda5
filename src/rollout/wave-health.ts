import type { UserState } from './states.js';

/**
 * The halt and promotion rules of a wave (pure). Ansible's `max_fail_percentage` semantics: the campaign halts when
 * the wave's failure rate is STRICTLY greater than the threshold (10% of 20 users: 2 failures continue, 3 halt;
 * 0 halts on the first failure). The rate is counted against the whole wave, so it can be judged while the wave
 * runs: once above the threshold it stays above (unless still-retrying users are counted and later succeed).
 *
 * - a permanent failure (`failed`, including transient failures that used up their attempts or horizon) always
 *   counts;
 * - a transient failure still retrying (`retrying`) counts only with `countRetryingAsFailed` (off by default: an
 *   offline laptop is not a broken profile);
 * - users who left the wave (`skipped`, `cancelled`, removed) are not in the denominator.
 */

export interface WaveCounters {
  /** Users of the wave still in the campaign (not skipped or cancelled). */
  readonly size: number;
  readonly applied: number;
  /** Final failures. */
  readonly failed: number;
  /** Transient failures waiting for their next attempt. */
  readonly retrying: number;
  /** Never attempted yet (queued, generated). */
  readonly pending: number;
  /** On the workstation now (deploying). */
  readonly inFlight: number;
}

export interface WaveRule {
  /** Absent: a wave never halts the campaign. */
  readonly maxFailPercent?: number;
  readonly countRetryingAsFailed: boolean;
  /** Promote the next wave as soon as this share of the wave is applied, without waiting for stragglers. */
  readonly autoPromotePercent?: number;
}

export type WaveVerdict =
  | { readonly kind: 'halt'; readonly failures: number; readonly ratePercent: number; readonly reason: string }
  | { readonly kind: 'promote'; readonly failures: number; readonly ratePercent: number; readonly reason: string }
  | { readonly kind: 'wait'; readonly failures: number; readonly ratePercent: number; readonly reason?: string };

/** Ansible's test, exactly: failures / size > maxPercent / 100, in integers-and-one-product so 1/3 is not rounded. */
export function exceedsFailureThreshold(failures: number, size: number, maxFailPercent: number): boolean {
  if (size <= 0) return false;
  return failures * 100 > maxFailPercent * size;
}

/** The counters of one wave from its users' state counts. */
export function countWave(counts: Partial<Record<UserState, number>>): WaveCounters {
  const n = (state: UserState) => counts[state] ?? 0;
  const applied = n('applied');
  const failed = n('failed');
  const retrying = n('retrying');
  const pending = n('queued') + n('generated');
  const inFlight = n('deploying');
  // Rollback states belong to users that were deployed: they are part of the wave, neither applied nor failed now.
  const rolledBack = n('rollback-queued') + n('rolling-back') + n('rolled-back') + n('rollback-failed');
  return {
    size: applied + failed + retrying + pending + inFlight + rolledBack,
    applied,
    failed,
    retrying,
    pending,
    inFlight,
  };
}

/**
 * Halt, promote or wait. Without `autoPromotePercent` the next wave is promoted when every user of the wave has had
 * its first attempt (none pending or on the workstation; still-retrying users go on retrying in the background).
 * With it, the next wave is promoted as soon as that share of the wave is applied, and only then: a wave that was
 * fully attempted below it waits for its retries or for an admin's `resume`. The caller adds the soak time to the
 * instant it sees `promote`.
 */
export function judgeWave(counters: WaveCounters, rule: WaveRule): WaveVerdict {
  const failures = counters.failed + (rule.countRetryingAsFailed ? counters.retrying : 0);
  const ratePercent = counters.size > 0 ? (failures * 100) / counters.size : 0;
  const rate = `${round(ratePercent)}%`;
  if (rule.maxFailPercent !== undefined && exceedsFailureThreshold(failures, counters.size, rule.maxFailPercent)) {
    const retrying = rule.countRetryingAsFailed && counters.retrying > 0 ? `, ${counters.retrying} still retrying` : '';
    return {
      kind: 'halt',
      failures,
      ratePercent,
      reason: `${failures} of ${counters.size} users failed (${rate}${retrying}), above max_fail_percent ${rule.maxFailPercent}%`,
    };
  }
  if (rule.autoPromotePercent !== undefined) {
    if (counters.size > 0 && counters.applied * 100 >= rule.autoPromotePercent * counters.size) {
      return {
        kind: 'promote',
        failures,
        ratePercent,
        reason: `${counters.applied} of ${counters.size} applied, at least auto_promote_percent ${rule.autoPromotePercent}%`,
      };
    }
    if (counters.pending === 0 && counters.inFlight === 0) {
      return {
        kind: 'wait',
        failures,
        ratePercent,
        reason: `${counters.applied} of ${counters.size} applied, below auto_promote_percent ${rule.autoPromotePercent}%: waiting for retries or an admin's resume`,
      };
    }
  } else if (counters.pending === 0 && counters.inFlight === 0) {
    return {
      kind: 'promote',
      failures,
      ratePercent,
      reason: `every user of the wave was attempted (failure rate ${rate})`,
    };
  }
  return { kind: 'wait', failures, ratePercent };
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}
