import { decideSchedule, expectedDeployMs, formatLocal, type RolloutSchedule, scheduleForSite } from './schedule.js';
import type { CampaignState, UserState } from './states.js';

/**
 * The deploy gate (pure, `now` passed in): asked by the deploy job before it touches a host. Waves (a user of a
 * wave not open yet), start_at and maintenance windows (outside the site's window, or too little of it left for
 * the expected duration of a deploy) are `park` answers with the reason and the instant to look again; a step
 * already on the workstation (an agent died mid-step) runs whatever they say. The campaign's `caps:` are not
 * answered here: a slot is a lease shared by every agent in Redis, so the deploy job takes it after the gate said
 * deploy (src/jobs/deploy-slot.ts) and parks the user itself when none is free.
 */

export type DeployStep = 'apply' | 'rollback';

export interface GateUser {
  readonly state: UserState;
  readonly run: number;
  readonly nextAttemptAt?: number;
  /** A step on the workstation now, possibly of a run a re-import or retry superseded. */
  readonly onHost?: { readonly run: number; readonly since: number };
  /** The CSV `site` value: picks the site's maintenance windows and zone. */
  readonly site?: string;
  /** The user's wave (1-based, assigned at import by the wave planner). Absent: no waves. */
  readonly wave?: number;
}

/** Where a campaign's waves stand: users of waves up to `open` may start. */
export interface GateWaves {
  readonly open: number;
  /** When wave `open + 1` opens, once wave `open` was promoted (promotion + soak time). */
  readonly nextAt?: number;
}

export interface GateCampaign {
  readonly state: CampaignState;
  /** start_at and maintenance windows (campaign and per site). Absent: always open. */
  readonly schedule?: RolloutSchedule;
  /** Floor of a deploy's expected duration (`schedule.min_deploy_minutes`), for the fits-in-the-window test. */
  readonly minDeployMs?: number;
  /** Absent: no waves, every user may start. */
  readonly waves?: GateWaves;
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
  /** How often a user of a wave not open yet (and with no known opening time) looks again. Default 60 s. */
  readonly waveRecheckMs?: number;
  /** Expected duration of one deploy, measured from recent attempts (raised to the campaign's floor). */
  readonly deployEstimateMs?: number;
}

const DEFAULT_WAVE_RECHECK_MS = 60_000;

export const DEFAULT_GATE_POLICY: GatePolicy = Object.freeze({
  pausedRecheckMs: 30_000,
  earlySlackMs: 250,
  onHostStaleMs: 15 * 60_000,
  onHostRecheckMs: 2_000,
  waveRecheckMs: DEFAULT_WAVE_RECHECK_MS,
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
  if (!resumed && step === 'apply' && campaign.waves && user.wave !== undefined && user.wave > campaign.waves.open) {
    const parked = parkForWave(user.wave, campaign.waves, campaign, user.site, policy, now);
    if (parked) return parked;
  }
  const waiting = user.state === 'retrying' || user.state === 'rollback-queued';
  const retryAt =
    waiting && user.nextAttemptAt !== undefined && user.nextAttemptAt > now + policy.earlySlackMs
      ? user.nextAttemptAt
      : undefined;
  // In-flight steps finish whatever the clock says; new ones start only inside their site's window, with room.
  if (!resumed && campaign.schedule) {
    const expected = expectedDeployMs(policy.deployEstimateMs, campaign.minDeployMs);
    const verdict = decideSchedule(campaign.schedule, user.site, expected, retryAt ?? now);
    if (verdict.kind === 'wait') return { kind: 'park', until: verdict.until, reason: verdict.reason };
  }
  if (retryAt !== undefined) return { kind: 'park', until: retryAt, reason: 'waiting for its next attempt' };
  return { kind: 'run' };
}

/** A user whose wave is not open: park until the wave opens (soak end) or look again later. */
function parkForWave(
  wave: number,
  waves: GateWaves,
  campaign: GateCampaign,
  site: string | undefined,
  policy: GatePolicy,
  now: number,
): GateDecision | undefined {
  if (wave === waves.open + 1 && waves.nextAt !== undefined) {
    if (waves.nextAt <= now) return undefined;
    const zone = campaign.schedule ? scheduleForSite(campaign.schedule, site).timezone : 'UTC';
    return {
      kind: 'park',
      until: waves.nextAt,
      reason: `wave ${wave} opens at ${formatLocal(waves.nextAt, zone)} (soak time after wave ${waves.open})`,
    };
  }
  return {
    kind: 'park',
    until: now + (policy.waveRecheckMs ?? DEFAULT_WAVE_RECHECK_MS),
    reason: `wave ${wave} is not open yet (wave ${waves.open} is running)`,
  };
}
