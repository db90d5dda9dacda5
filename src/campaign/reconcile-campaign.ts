import type { PipelineQueues } from '../queue/types.js';
import type { CampaignState } from '../rollout/states.js';
import type { CampaignRecord, RecordStore } from '../store/types.js';

/**
 * The campaign record is the truth; BullMQ's queue pause flags follow it. Control commands write the record first
 * and call this last; agents call it on every discovery tick. So a process that died between the two writes is
 * healed by the next command or the next tick, and calling it twice changes nothing.
 */
const HELD: readonly CampaignState[] = ['draft', 'paused', 'halted'];

export interface Reconciled {
  readonly campaign: CampaignRecord;
  readonly queues: 'paused' | 'running';
  /** The queues did not match the record and were changed. */
  readonly healed: boolean;
}

/** Whether a campaign in this state keeps its queues paused (a cancelled one runs: steps on hosts must finish). */
export function holdsQueues(state: CampaignState): boolean {
  return HELD.includes(state);
}

export async function reconcileCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  campaign: CampaignRecord,
  depth = 0,
): Promise<Reconciled> {
  const hold = holdsQueues(campaign.state);
  const state = hold ? 'paused' : 'running';
  const matches = hold ? await queues.isPaused(campaign.name) : await queues.isResumed(campaign.name);
  if (matches) return { campaign, queues: state, healed: false };
  if (hold) await queues.pause(campaign.name);
  else await queues.resume(campaign.name);
  // The record may have moved while the queues were changed (another admin, an agent's halt): it has the last word.
  const latest = (await store.getCampaign(campaign.name)) ?? campaign;
  if (holdsQueues(latest.state) !== hold && depth < 3) return reconcileCampaign(store, queues, latest, depth + 1);
  return { campaign: latest, queues: state, healed: true };
}
