import type { PipelineQueues } from '../queue/types.js';
import type { CampaignIntent } from '../rollout/lifecycle.js';
import { ON_HOST_USER_STATES, type UserState } from '../rollout/states.js';
import type { CampaignRecord, RecordStore } from '../store/types.js';
import { reconcileCampaign } from './reconcile-campaign.js';

const BATCH = 1_000;

/**
 * A campaign intent, then the reconciler: the record changes atomically (or the intent is refused with its reason),
 * and BullMQ's pause flags are made to follow it. A second call heals what a crash between the two left behind.
 */
export async function controlCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  intent: Exclude<CampaignIntent, 'finish' | 'cancel'>,
  reason: string,
  now: number,
): Promise<CampaignRecord> {
  const move = await store.applyCampaignIntent(name, intent, reason, now);
  return (await reconcileCampaign(store, queues, move.campaign)).campaign;
}

export const pauseCampaign = (
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
  reason = 'paused by an admin',
) => controlCampaign(store, queues, name, 'pause', reason, now);

/** Resume, then every parked deploy job asks the gate again now rather than at its recheck. */
export async function resumeCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
): Promise<CampaignRecord> {
  const campaign = await controlCampaign(store, queues, name, 'resume', 'resumed by an admin', now);
  await queues.wake(name);
  return campaign;
}

export interface CancelResult {
  readonly campaign: CampaignRecord;
  /** Users that were waiting (queued, generated, retrying, rollback-queued) and are now `cancelled`. */
  readonly cancelled: number;
  /** Users whose step was on the workstation: it finishes and records its real outcome. */
  readonly stillRunning: number;
}

/**
 * Cancel means "start no new step": the campaign becomes `cancelled` first (the deploy gate then drops new work),
 * waiting and delayed jobs are drained, every waiting user takes intent `cancel`; a step already on a host is left
 * to finish and record what really happened there (an applied profile is `applied`, and can be rolled back).
 */
export async function cancelCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
): Promise<CancelResult> {
  const move = await store.applyCampaignIntent(name, 'cancel', 'cancelled by an admin', now);
  await queues.drain(name);
  let cancelled = 0;
  for (const state of ['queued', 'generated', 'retrying', 'rollback-queued'] as const satisfies UserState[]) {
    // Each batch leaves the index it is read from, so always read the first page again.
    for (;;) {
      const page = await store.queryUsers(name, { state }, { limit: BATCH });
      if (page.users.length === 0) break;
      const results = await store.transitionMany(
        name,
        page.users.map((user) => ({ userKey: user.userKey, transition: { intent: 'cancel' as const } })),
        now,
      );
      const moved = results.filter((r) => r.result === 'moved').length;
      cancelled += moved;
      if (moved === 0) break;
    }
  }
  const counts = await store.countByState(name);
  const stillRunning = ON_HOST_USER_STATES.reduce((sum, state) => sum + counts[state], 0);
  const { campaign } = await reconcileCampaign(store, queues, move.campaign);
  return { campaign: (await store.getCampaign(name)) ?? campaign, cancelled, stillRunning };
}
