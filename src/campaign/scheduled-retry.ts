import { toDeployEstimateMs, toMinDeployMs, toRolloutSchedule } from '../config/campaign-settings.js';
import type { ErrorCode } from '../errors/index.js';
import type { RetryScheduler } from '../queue/retry-scheduler.js';
import type { PipelineQueues } from '../queue/types.js';
import { decideSchedule, expectedDeployMs } from '../rollout/schedule.js';
import type { CampaignState } from '../rollout/states.js';
import type { CampaignRecord, RecordStore } from '../store/types.js';
import { retryUsers } from './act-on-users.js';
import { requireCampaign } from './start-campaign.js';

/**
 * The campaign's recurring retry (its `schedule.retry.cron`, run by an agent through a BullMQ job scheduler):
 * re-queues, with the admin's own `retry` use case, only the users whose last failure was transient (offline
 * laptop, busy session: their retries or horizon ran out) and only those whose site's maintenance window is open
 * now with room for a deploy. Permanent failures wait for an admin.
 */

/** The codes a transient failure ends on when its retries run out (deploy-outcome.ts): what the nightly retry takes. */
export const TRANSIENT_GIVE_UP_CODES: readonly ErrorCode[] = [
  'FR_ERR_ATTEMPTS_EXHAUSTED',
  'FR_ERR_RETRY_HORIZON_EXCEEDED',
];

/** States in which a campaign's nightly retry does nothing (an admin stopped it, or it never started). */
const IDLE: readonly CampaignState[] = ['draft', 'paused', 'halted', 'cancelled'];

export interface ScheduledRetryResult {
  /** Users re-queued. */
  readonly queued: number;
  /** Sites whose window was closed: their users were left for the next run. */
  readonly closedSites: readonly string[];
  /** Why nothing was done, when nothing was. */
  readonly skipped?: string;
}

export async function runScheduledRetry(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
): Promise<ScheduledRetryResult> {
  const campaign = await requireCampaign(store, name);
  if (IDLE.includes(campaign.state)) return { queued: 0, closedSites: [], skipped: `campaign ${campaign.state}` };
  const schedule = toRolloutSchedule(campaign.settings);
  const expected = expectedDeployMs(toDeployEstimateMs(campaign.settings), toMinDeployMs(campaign.settings));
  const isOpen = (site: string | undefined) =>
    !schedule || decideSchedule(schedule, site, expected, now).kind === 'open';

  // The sites of the candidates (few: users whose retries ran out), to ask each site's window.
  const sites = new Map<string, boolean>();
  let withoutSite = false;
  for (const code of TRANSIENT_GIVE_UP_CODES) {
    for await (const users of store.scanUsers(name, { state: 'failed', code })) {
      for (const user of users) {
        if (user.site === undefined) withoutSite = true;
        else if (!sites.has(user.site)) sites.set(user.site, isOpen(user.site));
      }
    }
  }
  const closedSites = [...sites].filter(([, open]) => !open).map(([site]) => site);
  const everyOpen = closedSites.length === 0 && (!withoutSite || isOpen(undefined));
  let queued = 0;
  for (const code of TRANSIENT_GIVE_UP_CODES) {
    // One selection when every window is open; else site by site (users without a site wait for such a night).
    const selections = everyOpen ? [{}] : [...sites].filter(([, open]) => open).map(([site]) => ({ site }));
    for (const selection of selections) {
      queued += (await retryUsers(store, queues, name, { state: 'failed', code, ...selection }, now)).moved;
    }
  }
  return { queued, closedSites };
}

/**
 * Keeps one job scheduler per campaign with `schedule.retry` (agents call it on every discovery tick): created or
 * updated from the campaign file, removed when the campaign is cancelled or its file no longer asks for it.
 */
export async function syncRetrySchedulers(
  campaigns: readonly CampaignRecord[],
  scheduler: Pick<RetryScheduler, 'ensure' | 'remove'>,
  known: Set<string>,
): Promise<void> {
  for (const campaign of campaigns) {
    const cron = campaign.settings.schedule?.retry;
    if (cron && campaign.state !== 'cancelled') {
      const timezone = cron.timezone ?? campaign.settings.schedule?.timezone ?? 'UTC';
      await scheduler.ensure(campaign.name, { pattern: cron.cron.trim(), timezone });
      known.add(campaign.name);
    } else if (known.has(campaign.name)) {
      await scheduler.remove(campaign.name);
      known.delete(campaign.name);
    }
  }
}
