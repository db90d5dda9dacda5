import type { PipelineQueues } from '../queue/types.js';
import { IN_FLIGHT_USER_STATES } from '../rollout/states.js';
import type { CampaignRecord, RecordStore } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

const BATCH = 1_000;

/** Pause: BullMQ's own queue pause (no churn on waiting jobs); running jobs finish. */
export async function pauseCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
  reason = 'paused by an admin',
): Promise<CampaignRecord> {
  await requireCampaign(store, name);
  const campaign = await store.setCampaignState(name, 'paused', reason, now);
  await queues.pause(name);
  return campaign;
}

export async function resumeCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
): Promise<CampaignRecord> {
  const current = await requireCampaign(store, name);
  if (current.state === 'running') return current;
  const campaign = await store.setCampaignState(name, 'running', 'resumed by an admin', now);
  await queues.resume(name);
  return campaign;
}

export interface CancelResult {
  readonly campaign: CampaignRecord;
  /** Users that were in flight and are now `cancelled`. */
  readonly cancelled: number;
}

/**
 * cancelled + drain the waiting/delayed jobs + every in-flight user → cancelled. A job already running sees its
 * user cancelled (its transition is refused) and stops. The state is set first so nothing new is started.
 */
export async function cancelCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
): Promise<CancelResult> {
  await requireCampaign(store, name);
  await store.setCampaignState(name, 'cancelled', 'cancelled by an admin', now);
  await queues.drain(name);
  let cancelled = 0;
  for (const state of IN_FLIGHT_USER_STATES) {
    // Each batch leaves the index it is read from, so always read the first page again.
    for (;;) {
      const page = await store.queryUsers(name, { state }, { limit: BATCH });
      if (page.users.length === 0) break;
      const results = await Promise.all(
        page.users.map((user) =>
          store.transition(name, user.userKey, { run: user.run, from: [state], to: 'cancelled' }, now),
        ),
      );
      const moved = results.filter(Boolean).length;
      cancelled += moved;
      if (moved === 0) break;
    }
  }
  return { campaign: await requireCampaign(store, name), cancelled };
}
