import type { CampaignFile } from '../config/campaign-schema.js';
import { toDeployEstimateMs, toMinDeployMs, toRolloutSchedule } from '../config/campaign-settings.js';
import type { PipelineQueues } from '../queue/types.js';
import { estimateDeployMs } from '../rollout/deploy-estimate.js';
import type { GateCampaign, GateDecision, GatePolicy, GateWaves } from '../rollout/deploy-gate.js';
import type { CampaignRecord, RecordStore, UserRecord, WaveProgress } from '../store/types.js';
import type { CampaignSettings, JobDeps } from './types.js';

/**
 * What the deploy gate needs beyond the user and the campaign state: the schedule (start_at, windows per site),
 * the waves (which one is open, when the next opens) and the expected duration of a deploy (p90 of recent
 * successful applies, never below `min_deploy_minutes`). Derived per agent and cached like the settings are, so a
 * deploy costs no extra Redis call; a parked user records why (intent `wait-for-window`) when the reason changes.
 */

const ESTIMATE_TTL_MS = 30_000;

const derived = new WeakMap<CampaignFile, Pick<GateCampaign, 'schedule' | 'minDeployMs'>>();
const estimates = new WeakMap<RecordStore, Map<string, { at: number; value: Promise<number> }>>();

function scheduleOf(file: CampaignFile): Pick<GateCampaign, 'schedule' | 'minDeployMs'> {
  let value = derived.get(file);
  if (!value) {
    const schedule = toRolloutSchedule(file);
    value = schedule ? { schedule, minDeployMs: toMinDeployMs(file) } : {};
    derived.set(file, value);
  }
  return value;
}

/** The gate's view of the waves: users of waves up to `open` start; wave `open + 1` from `nextAt` (soak time). */
export function toGateWaves(progress: WaveProgress, now: number): GateWaves {
  const soaking = progress.opensAt !== undefined && progress.opensAt > now;
  return soaking ? { open: progress.open - 1, nextAt: progress.opensAt as number } : { open: progress.open };
}

export function toGateCampaign(campaign: CampaignSettings, now: number): GateCampaign {
  return {
    state: campaign.state,
    ...scheduleOf(campaign.file),
    ...(campaign.waves && { waves: toGateWaves(campaign.waves, now) }),
  };
}

/** The gate's policy with this campaign's measured deploy estimate (read at most every 30 s per agent). */
export async function policyFor(campaign: CampaignSettings, policy: GatePolicy, deps: JobDeps): Promise<GatePolicy> {
  if (!campaign.file.schedule) return policy;
  let cache = estimates.get(deps.store);
  if (!cache) {
    cache = new Map();
    estimates.set(deps.store, cache);
  }
  const now = deps.now();
  let entry = cache.get(campaign.name);
  if (!entry || now - entry.at >= ESTIMATE_TTL_MS) {
    const configured = toDeployEstimateMs(campaign.file);
    const value = deps.store
      .recentApplyDurations(campaign.name)
      .then((recent) => estimateDeployMs(recent, configured))
      .catch(() => configured);
    entry = { at: now, value };
    cache.set(campaign.name, entry);
  }
  return { ...policy, deployEstimateMs: await entry.value };
}

/**
 * Made by each agent: on every discovery tick, a campaign whose wave opened since the last tick has the parked
 * deploy jobs of that wave's users ask the gate again now (they start, or park until its soak ends) instead of at
 * their recheck a minute later.
 */
export function createWaveWaker(
  store: RecordStore,
  queues: PipelineQueues,
  getCampaign: JobDeps['getCampaign'],
): (campaigns: readonly CampaignRecord[]) => Promise<void> {
  const seen = new Map<string, number>();
  return async (campaigns) => {
    for (const campaign of campaigns) {
      if (!campaign.waves) continue;
      const last = seen.get(campaign.name);
      seen.set(campaign.name, campaign.waves.open);
      if (last === undefined || campaign.waves.open <= last) continue;
      // This agent's cached settings first: a job woken now must not be judged on the wave before.
      await getCampaign(campaign.name, { fresh: true });
      // Only the opened wave's users: waking every parked job would have the later waves' users park again.
      for (let wave = last + 1; wave <= campaign.waves.open; wave += 1) {
        await queues.wakeUsers(campaign.name, await store.waveWaiting(campaign.name, wave));
      }
    }
  };
}

/**
 * "wave 4 is not open yet (wave 2 is running)" then "(wave 3 is running)": the same wait for the user, not worth a
 * write for every parked user at every promotion.
 */
function sameWait(reason: string, recorded: string | undefined): boolean {
  if (recorded === undefined) return false;
  const waitingWave = /^(wave \d+ is not open yet) \(/;
  const a = waitingWave.exec(reason)?.[1];
  return reason === recorded || (a !== undefined && a === waitingWave.exec(recorded)?.[1]);
}

/** Retry backoff is already on the record (`nextAttemptAt`); every other reason to wait is recorded when it changes. */
export async function recordParked(
  campaign: CampaignSettings,
  user: UserRecord,
  gate: Extract<GateDecision, { kind: 'park' }>,
  deps: JobDeps,
  now: number,
): Promise<void> {
  if (gate.reason === 'waiting for its next attempt' || sameWait(gate.reason, user.parkedReason)) return;
  await deps.store.transition(
    campaign.name,
    user.userKey,
    { intent: 'wait-for-window', run: user.run, patch: { parkedReason: gate.reason } },
    now,
  );
}
