import { FleetError } from '../errors/index.js';
import type { PipelineQueues } from '../queue/types.js';
import type { CampaignRecord, RecordStore, UserFilter } from '../store/types.js';

const BATCH = 1_000;

export interface StartResult {
  readonly campaign: CampaignRecord;
  /** Users handed to the generate queue (already-queued jobs with the same id are no-ops in BullMQ). */
  readonly enqueued: number;
}

/**
 * running + enqueue every user that is `queued`, scanning the state index in batches. Job ids are deterministic,
 * so a second start (or a start after a crash half-way) adds nothing twice. Starting a paused campaign resumes it.
 */
export async function startCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  now: number,
): Promise<StartResult> {
  await requireCampaign(store, name);
  await store.setCampaignState(name, 'running', 'started', now);
  await queues.resume(name);
  const enqueued = await enqueueMatching(store, queues, name, { state: 'queued' });
  // A campaign with nothing in flight was set `done` at once by the store; read the final word.
  return { campaign: await requireCampaign(store, name), enqueued };
}

/** Enqueues the generate stage for every user matching the filter (users must be `queued` already). */
export async function enqueueMatching(
  store: RecordStore,
  queues: PipelineQueues,
  name: string,
  filter: UserFilter,
): Promise<number> {
  let enqueued = 0;
  for await (const users of store.scanUsers(name, filter, BATCH)) {
    const work = users.filter((user) => user.state === 'queued').map(({ userKey, run }) => ({ userKey, run }));
    if (work.length > 0) enqueued += await queues.enqueueGenerate(name, work);
  }
  return enqueued;
}

export async function requireCampaign(store: RecordStore, name: string): Promise<CampaignRecord> {
  const campaign = await store.getCampaign(name);
  if (!campaign) throw new FleetError('FR_ERR_CAMPAIGN_NOT_FOUND', `no campaign named ${name}`, { campaign: name });
  return campaign;
}
