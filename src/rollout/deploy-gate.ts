import type { CampaignState, UserState } from './states.js';

/**
 * The deploy gate (pure, `now` passed in): asked by the deploy job before it touches a host. Maintenance windows,
 * waves and caps (the schedules issue) become further answers of this one function, not new places that move state.
 */

export type DeployStep = 'apply' | 'rollback';

export interface GateUser {
  readonly state: UserState;
  readonly run: number;
  readonly nextAttemptAt?: number;
  /** A step on the workstation now, possibly of a run a re-import or retry superseded. */
  readonly onHost?: { readonly run: number; readonly since: number };
}

export interface GateCampaign {
  readonly state: CampaignState;
}

export interface GatePolicy {
  /** How long a job of a paused or halted campaign waits before it asks again (the queue pause stops new fetches). */
  readonly pausedRecheckMs: number;
  /** A retry that comes this little early runs (timers and clocks of different agents are not exact). */
  readonly earlySlackMs: number;
  /** How long a superseded step may hold the workstation before it is presumed dead (its agent died). */
  readonly onHostStaleMs: number;
  /** How often a user waiting for a superseded step to leave its workstation looks again. */
  readonly onHostRecheckMs: number;
}

export const DEFAULT_GATE_POLICY: GatePolicy = Object.freeze({
  pausedRecheckMs: 30_000,
  earlySlackMs: 250,
  onHostStaleMs: 15 * 60_000,
  onHostRecheckMs: 2_000,
});

export type GateDecision =
  | { readonly kind: 'run' }
  | { readonly kind: 'park'; readonly until: number; readonly reason: string }
  | { readonly kind: 'drop'; readonly reason: string; readonly cancel?: boolean };

/** States a step may start from: first try, a retry, or a re-run after an agent died mid-step. */
const STARTABLE: Readonly<Record<DeployStep, readonly UserState[]>> = {
  apply: ['generated', 'retrying', 'deploying'],
  rollback: ['rollback-queued', 'rolling-back'],
};

export function decideDeploy(
  step: DeployStep,
  jobRun: number,
  user: GateUser,
  campaign: GateCampaign,
  policy: GatePolicy,
  now: number,
): GateDecision {
  if (user.run !== jobRun) return { kind: 'drop', reason: `stale job: run ${jobRun}, the user is on run ${user.run}` };
  if (!STARTABLE[step].includes(user.state)) return { kind: 'drop', reason: `user is ${user.state}` };
  // A step that was already on the host when its agent died runs again whatever the campaign says: only it can
  // tell what happened there (the scripts are idempotent).
  const resumed = user.state === 'deploying' || user.state === 'rolling-back';
  if (campaign.state === 'cancelled' && !resumed) {
    return { kind: 'drop', reason: 'campaign cancelled', cancel: true };
  }
  if ((campaign.state === 'paused' || campaign.state === 'halted') && !resumed) {
    return { kind: 'park', until: now + policy.pausedRecheckMs, reason: `campaign ${campaign.state}` };
  }
  // Two steps for one user on one workstation at once would race on its registry: wait for the old one's outcome.
  const other = user.onHost;
  if (!resumed && other && other.run !== user.run && now - other.since < policy.onHostStaleMs) {
    return {
      kind: 'park',
      until: now + policy.onHostRecheckMs,
      reason: 'a superseded step is still on the workstation',
    };
  }
  const waiting = user.state === 'retrying' || user.state === 'rollback-queued';
  if (waiting && user.nextAttemptAt !== undefined && user.nextAttemptAt > now + policy.earlySlackMs) {
    return { kind: 'park', until: user.nextAttemptAt, reason: 'waiting for its next attempt' };
  }
  return { kind: 'run' };
}
